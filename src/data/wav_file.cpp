// Reading a mono WAV file: the bytes are read once, the RIFF layout is checked for
// truncation (which libsndfile tolerates silently), then libsndfile decodes from memory.
#include <sndfile.h>

#include <algorithm>
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

/// For a RIFF/WAVE file, throws unless its data chunk lies wholly inside the file.
/// libsndfile would read a truncated file as a shorter recording without complaint.
void check_riff_not_truncated(std::span<const std::byte> bytes, const std::string& path) {
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 ||
      std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    return;  // not RIFF/WAVE: libsndfile decides
  }
  size_t offset = 12;
  while (offset + 8 <= bytes.size()) {
    const uint64_t size = le32(bytes.data() + offset + 4);
    const uint64_t available = bytes.size() - offset - 8;
    if (std::memcmp(bytes.data() + offset, "data", 4) == 0) {
      if (size > available) {
        fail("WAV file '", path, "' is truncated: its data chunk declares ", size,
             " bytes but the file holds ", available);
      }
      return;
    }
    offset += 8 + size + (size & 1);
  }
  fail("WAV file '", path, "' is corrupt or truncated: no complete data chunk in its ",
       bytes.size(), " bytes");
}

/// libsndfile's virtual I/O over a byte buffer.
struct MemoryFile {
  std::span<const std::byte> bytes;
  sf_count_t position = 0;
};

sf_count_t memory_length(void* user) {
  return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->bytes.size());
}

sf_count_t memory_seek(sf_count_t offset, int whence, void* user) {
  auto* file = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(file->bytes.size());
  sf_count_t target = offset;
  if (whence == SEEK_CUR) target += file->position;
  if (whence == SEEK_END) target += size;
  file->position = std::clamp<sf_count_t>(target, 0, size);
  return file->position;
}

sf_count_t memory_read(void* out, sf_count_t count, void* user) {
  auto* file = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(file->bytes.size());
  const sf_count_t n = std::clamp<sf_count_t>(size - file->position, 0, count);
  if (n > 0) std::memcpy(out, file->bytes.data() + file->position, static_cast<size_t>(n));  // data() may be null
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

std::vector<float> load_wav(const std::string& path, int sample_rate) {
  const std::vector<std::byte> bytes = read_file(path);
  check_riff_not_truncated(bytes, path);

  MemoryFile memory{bytes};
  SF_VIRTUAL_IO io{memory_length, memory_seek, memory_read, memory_write, memory_tell};
  SF_INFO info{};
  SNDFILE* file = nullptr;
  {
    std::lock_guard lock(open_mutex());
    file = sf_open_virtual(&io, SFM_READ, &info, &memory);
    if (file == nullptr) {
      fail("cannot decode '", path, "' as a WAV file (", bytes.size(),
           " bytes): ", sf_strerror(nullptr));
    }
  }
  struct Closer {
    SNDFILE* file;
    ~Closer() { sf_close(file); }
  } closer{file};

  if (info.channels != 1) {
    fail("WAV file '", path, "' has ", info.channels, " channels; expected mono (1 channel)");
  }
  if (info.samplerate != sample_rate) {
    fail("WAV file '", path, "' is sampled at ", info.samplerate, " Hz; expected ", sample_rate,
         " Hz (resample it first)");
  }
  if (info.frames < 0) fail("WAV file '", path, "' claims ", info.frames, " samples");
  check_fits_in_memory(4.0 * static_cast<double>(info.frames), cat("the samples of '", path, "'"));
  std::vector<float> samples(static_cast<size_t>(info.frames));
  const sf_count_t read = sf_readf_float(file, samples.data(), info.frames);
  if (read != info.frames) {
    fail("WAV file '", path, "' is truncated or corrupt: read ", read, " of ", info.frames,
         " samples (", sf_strerror(file), ")");
  }
  return samples;
}

}  // namespace rnnwave
