"""Prints the words of a file, one per line, as pytorch/examples' word_language_model
Corpus reads them (each line's words, then <eos>): the oracle of the tokenizer tests."""
import sys

with open(sys.argv[1], 'r', encoding='utf8') as f:
    for line in f:
        for word in line.split() + ['<eos>']:
            sys.stdout.buffer.write(word.encode('utf8') + b'\n')
