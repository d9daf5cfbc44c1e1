// Reading a mono WAV file: the bytes are read once, the RIFF layout is checked for
// truncation (which libsndfile tolerates silently), then libsndfile decodes from memory
// a canonical file made of the format and data chunks alone.
#include <sndfile.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "common/memory_limits.h"
#include "common/strings.h"
#include "rnnwave/data_audio.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

uint32_t le32(const std::byte* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

uint16_t le16(const std::byte* p) {
  return static_cast<uint16_t>(static_cast<uint16_t>(p[0]) | static_cast<uint16_t>(p[1]) << 8);
}

/// Where the two chunks libsndfile needs lie in a WAV file's bytes.
struct RiffChunks {
  std::span<const std::byte> format;  // the "fmt " chunk, its 8-byte header included
  std::span<const std::byte> data;    // the "data" chunk, its 8-byte header included
};

/// Checks the RIFF layout and finds the format and data chunks. Throws unless the bytes
/// are a RIFF/WAVE file whose chunks up to the data chunk each lie wholly inside the file,
/// whose format chunk comes first and declares at least one channel and a rate above 0,
/// and whose data chunk is complete. libsndfile would also read a truncated file as a
/// shorter recording without complaint, and calls a rate of 0 "SF_INFO struct incomplete".
RiffChunks find_riff_chunks(std::span<const std::byte> bytes, std::string_view what) {
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 ||
      std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    fail("cannot decode ", what, " as a WAV file (", bytes.size(), " bytes): no RIFF/WAVE header");
  }
  RiffChunks chunks;
  size_t offset = 12;
  while (offset + 8 <= bytes.size()) {
    const std::string_view id(reinterpret_cast<const char*>(bytes.data() + offset), 4);
    const uint64_t size = le32(bytes.data() + offset + 4);
    const uint64_t available = bytes.size() - offset - 8;
    const std::byte* body = bytes.data() + offset + 8;
    if (id == "data") {
      if (size > available) {
        fail("WAV file ", what, " is truncated: its data chunk declares ", size,
             " bytes but the file holds ", available);
      }
      if (chunks.format.empty()) fail("WAV file ", what, " is corrupt: its data chunk comes before a format chunk");
      chunks.data = bytes.subspan(offset, static_cast<size_t>(8 + size));
      return chunks;
    }
    if (size > available) {
      fail("WAV file ", what, " is corrupt or truncated: its ", quote_for_message(id), " chunk at byte ",
           offset, " declares ", size, " bytes but ", available, " follow");
    }
    if (id == "fmt " && chunks.format.empty()) {
      if (size < 8) fail("WAV file ", what, " is corrupt: its format chunk has ", size, " bytes");
      const uint16_t channels = le16(body + 2);
      const uint32_t rate = le32(body + 4);
      if (channels == 0) fail("WAV file ", what, " declares 0 channels");
      if (rate == 0) fail("WAV file ", what, " declares a sample rate of 0 Hz");
      chunks.format = bytes.subspan(offset, static_cast<size_t>(8 + size));
    }
    offset += 8 + size + (size & 1);
  }
  fail("WAV file ", what, " is corrupt or truncated: no complete data chunk in its ", bytes.size(),
       " bytes");
}

void append_text(std::vector<std::byte>& out, std::string_view text) {
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
}

/// The file libsndfile is shown: a RIFF/WAVE header, the format chunk and the data chunk,
/// nothing else. Only WAV reaches libsndfile (which would also decode AIFF, FLAC, Ogg, ...
/// from hostile bytes), and none of its metadata parsers (LIST, INFO, cue, smpl, ...) see
/// hostile bytes: twice fuzz_wav found such a chunk that made it loop for minutes (a size
/// pointing past the end after the data, a LIST sub-chunk of negative size before it).
/// The header and format chunk are copied (a few dozen bytes); the samples are not.
struct CanonicalWav {
  std::vector<std::byte> head;
  std::span<const std::byte> data;

  explicit CanonicalWav(const RiffChunks& chunks) : data(chunks.data) {
    const size_t padded_format = chunks.format.size() + (chunks.format.size() & 1);
    // data.size() <= 8 + 0xffffffff and the format chunk lies in the file: no overflow
    // of a 64-bit size, but the RIFF field holds 32 bits (libsndfile accepts a short one).
    const uint64_t riff_size = std::min<uint64_t>(4 + padded_format + data.size(), 0xffffffffu);
    append_text(head, "RIFF");
    for (int i = 0; i < 4; ++i) head.push_back(static_cast<std::byte>((riff_size >> (8 * i)) & 0xff));
    append_text(head, "WAVE");
    head.insert(head.end(), chunks.format.begin(), chunks.format.end());
    head.resize(12 + padded_format, std::byte{0});
  }

  size_t size() const { return head.size() + data.size(); }

  /// Copies count bytes from position on, where the head and the data follow each other.
  void copy(size_t position, size_t count, std::byte* out) const {
    if (position < head.size()) {
      const size_t n = std::min(count, head.size() - position);
      std::memcpy(out, head.data() + position, n);
      out += n;
      position += n;
      count -= n;
    }
    if (count > 0) std::memcpy(out, data.data() + (position - head.size()), count);
  }
};

/// libsndfile's virtual I/O over a CanonicalWav.
struct MemoryFile {
  const CanonicalWav& wav;
  sf_count_t position = 0;
};

sf_count_t memory_length(void* user) {
  return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->wav.size());
}

sf_count_t memory_seek(sf_count_t offset, int whence, void* user) {
  auto* file = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(file->wav.size());
  sf_count_t target = offset;
  if (whence == SEEK_CUR) target += file->position;
  if (whence == SEEK_END) target += size;
  file->position = std::clamp<sf_count_t>(target, 0, size);
  return file->position;
}

sf_count_t memory_read(void* out, sf_count_t count, void* user) {
  auto* file = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(file->wav.size());
  const sf_count_t n = std::clamp<sf_count_t>(size - file->position, 0, count);
  if (n > 0) file->wav.copy(static_cast<size_t>(file->position), static_cast<size_t>(n), static_cast<std::byte*>(out));
  file->position += n;
  return n;
}

sf_count_t memory_write(const void*, sf_count_t, void*) { return 0; }

sf_count_t memory_tell(void* user) { return static_cast<MemoryFile*>(user)->position; }

/// libsndfile reports open failures through a global; opening under a lock keeps each
/// thread's message its own.
std::mutex& open_mutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace

std::vector<float> decode_wav(std::span<const std::byte> bytes, std::string_view name, int sample_rate) {
  const std::string what = quote_for_message(name, 200);
  const CanonicalWav wav(find_riff_chunks(bytes, what));
  MemoryFile memory{wav};
  SF_VIRTUAL_IO io{memory_length, memory_seek, memory_read, memory_write, memory_tell};
  SF_INFO info{};
  SNDFILE* file = nullptr;
  {
    std::lock_guard lock(open_mutex());
    file = sf_open_virtual(&io, SFM_READ, &info, &memory);
    if (file == nullptr) {
      fail("cannot decode ", what, " as a WAV file (", bytes.size(), " bytes): ", sf_strerror(nullptr));
    }
  }
  struct Closer {
    SNDFILE* file;
    ~Closer() { sf_close(file); }
  } closer{file};

  if (info.channels != 1) {
    fail("WAV file ", what, " has ", info.channels, " channels; expected mono (1 channel)");
  }
  if (info.samplerate != sample_rate) {
    fail("WAV file ", what, " is sampled at ", info.samplerate, " Hz; expected ", sample_rate,
         " Hz (resample it first)");
  }
  if (info.frames < 0) fail("WAV file ", what, " claims ", info.frames, " samples");
  check_fits_in_memory(4.0 * static_cast<double>(info.frames), cat("the samples of ", what));
  std::vector<float> samples(static_cast<size_t>(info.frames));
  const sf_count_t read = sf_readf_float(file, samples.data(), info.frames);
  if (read != info.frames) {
    fail("WAV file ", what, " is truncated or corrupt: read ", read, " of ", info.frames,
         " samples (", sf_strerror(file), ")");
  }
  return samples;
}

std::vector<float> load_wav(const std::string& path, int sample_rate) {
  return decode_wav(read_file(path), path, sample_rate);
}

void check_recording_length(std::span<const float> samples, const FeatureOptions& options,
                            std::string_view name) {
  if (samples.size() >= static_cast<size_t>(options.frame_length)) return;
  const double ms = 1000.0 * static_cast<double>(samples.size()) / options.sample_rate;
  const double frame_ms = 1000.0 * options.frame_length / options.sample_rate;
  char lengths[96];
  std::snprintf(lengths, sizeof lengths, "%zu samples (%.1f ms at %d Hz)", samples.size(), ms,
                options.sample_rate);
  char frame[64];
  std::snprintf(frame, sizeof frame, "%d samples, %.0f ms", options.frame_length, frame_ms);
  fail("WAV file ", quote_for_message(name, 200), " is too short: ", lengths,
       ", less than one analysis frame (", frame, ")");
}

}  // namespace rnnwave
