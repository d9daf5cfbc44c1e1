// The planner's calibration, cached in a file per machine: read if it is there, whole and
// made by this binary on this CPU; measured and written atomically otherwise. The cache
// never makes a call fail: a bad file or an unwritable folder costs a calibration and a
// one-line note.
#include <link.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"
#include "kernels/packed_gemm.h"
#include "rnnwave/planner.h"

namespace rnnwave {
namespace {

constexpr const char* kHeader = "rnnwave calibration 2";
constexpr const char* kFileName = "calibration.txt";

/// The GNU build id of the loaded object that holds this function, in hex; empty if it
/// has none.
std::string build_id() {
  struct Search {
    uintptr_t address;
    std::string id;
  } search{reinterpret_cast<uintptr_t>(&build_id), {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        bool holds = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD && s->address >= begin && s->address < begin + ph.p_memsz) holds = true;
        }
        if (!holds) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
          const char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const char* name = p + sizeof(ElfW(Nhdr));
            const char* desc = name + ((note->n_namesz + 3) & ~3u);
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              static const char* hex = "0123456789abcdef";
              for (uint32_t k = 0; k < note->n_descsz; ++k) {
                const auto byte = static_cast<unsigned char>(desc[k]);
                s->id += hex[byte >> 4];
                s->id += hex[byte & 15];
              }
              return 1;
            }
            p = desc + ((note->n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &search);
  return search.id;
}

/// Size and modification time of the running program: a stand-in for a build id.
std::string program_stamp() {
  struct stat st{};
  if (stat("/proc/self/exe", &st) != 0) return "unknown";
  return cat(st.st_size, "-", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
}

std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      return line.substr(line.find(':') + 1);
    }
  }
  return "unknown";
}

std::string format(const Calibration& c, const std::string& key) {
  std::ostringstream out;
  out.precision(17);
  out << kHeader << "\nkey " << key << "\npointwise_ns " << c.pointwise_ns << "\ntask_ns_inline "
      << c.task_ns_inline << "\n";
  for (const auto& r : c.runtime) out << "runtime " << r.threads << " " << r.task_ns << " " << r.pass_ns << "\n";
  for (const auto& p : c.kernel) out << "kernel " << p.rows << " " << p.k << " " << p.n << " " << p.gflops << "\n";
  out << "end\n";
  return out.str();
}

enum class Read { ok, missing, corrupt, stale };

/// Reads the cache file; `why` says what is wrong with a corrupt one.
Read read_file(const std::filesystem::path& path, const std::string& key, Calibration& c, std::string& why) {
  std::ifstream in(path);
  if (!in) return std::filesystem::exists(path) ? (why = "cannot be read", Read::corrupt) : Read::missing;
  std::string line;
  if (!std::getline(in, line)) return why = "empty", Read::corrupt;
  // Another version of the format was written by another build: stale, not damaged.
  if (line.rfind("rnnwave calibration ", 0) == 0 && line != kHeader) return Read::stale;
  if (line != kHeader) return why = "no header", Read::corrupt;
  bool ended = false, keyed = false;
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (ended) return why = cat("text after 'end' on line ", number), Read::corrupt;
    std::istringstream words(line);
    std::string word;
    words >> word;
    bool parsed = true;
    if (word == "key") {
      keyed = true;
      if (line.size() < 4 || line.substr(4) != key) return Read::stale;
      continue;
    } else if (word == "pointwise_ns") {
      parsed = bool(words >> c.pointwise_ns);
    } else if (word == "task_ns_inline") {
      parsed = bool(words >> c.task_ns_inline);
    } else if (word == "runtime") {
      Calibration::RuntimePoint r;
      parsed = bool(words >> r.threads >> r.task_ns >> r.pass_ns);
      c.runtime.push_back(r);
    } else if (word == "kernel") {
      Calibration::KernelPoint p;
      parsed = bool(words >> p.rows >> p.k >> p.n >> p.gflops);
      c.kernel.push_back(p);
    } else if (word == "end") {
      ended = true;
      continue;
    } else {
      parsed = false;
    }
    std::string extra;
    if (!parsed || (words >> extra)) {
      return why = cat("line ", number, " is not understood: ", quote_for_message(line, 40)), Read::corrupt;
    }
  }
  if (!keyed) return why = "no key", Read::corrupt;
  if (!ended) return why = "truncated (no 'end')", Read::corrupt;
  if (!c.valid()) return why = "values missing or not positive", Read::corrupt;
  return Read::ok;
}

/// Writes the file atomically; returns an empty string or what went wrong.
std::string write_file(const std::filesystem::path& dir, const std::string& text) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return error.message();
  const std::filesystem::path temporary = dir / cat(kFileName, ".tmp.", getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::filesystem::remove(temporary, error);
      return "cannot write a file there";
    }
  }
  std::filesystem::rename(temporary, dir / kFileName, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return error.message();
  }
  return {};
}

}  // namespace

std::string calibration_key() {
  std::string id = build_id();
  if (id.empty()) id = "program-" + program_stamp();
  std::string key = cat("build=", id, ";cpu=", cpu_model(), ";cores=", omp_get_num_procs(),
                        ";avx512=", kernels::packed_gemm_uses_avx512() ? 1 : 0);
  for (char& ch : key) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return key;
}

std::string default_calibration_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return (std::filesystem::path(xdg) / "rnnwave").string();
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return (std::filesystem::path(home) / ".cache" / "rnnwave").string();
  return {};
}

Calibration cached_calibration(const std::string& dir, std::string* note,
                               const std::function<Calibration()>& measure, const std::string& key) {
  std::string said;
  if (!dir.empty()) {
    const std::filesystem::path path = std::filesystem::path(dir) / kFileName;
    Calibration cached;
    std::string why;
    std::error_code error;
    Read read = Read::missing;
    try {
      read = read_file(path, key, cached, why);
    } catch (const std::exception& e) {
      read = Read::corrupt;
      why = e.what();
    }
    if (read == Read::ok) {
      if (note != nullptr) note->clear();
      return cached;
    }
    if (read == Read::corrupt) {
      said = cat("calibration cache ", quote_for_message(path.string()), " is corrupt (", why, "): recalibrated");
    } else if (read == Read::stale) {
      said = cat("calibration cache ", quote_for_message(path.string()),
                 " was made by another build or CPU: recalibrated");
    }
  }
  const Calibration fresh = measure();
  const std::string failed = dir.empty() ? std::string("no cache folder ($XDG_CACHE_HOME and $HOME unset)")
                                         : write_file(dir, format(fresh, key));
  if (!failed.empty()) {
    if (!said.empty()) said += "; ";
    said += cat("cannot write the calibration cache in ", quote_for_message(dir), " (", failed,
                "): this calibration is used uncached");
  }
  if (note != nullptr) *note = said;
  return fresh;
}

}  // namespace rnnwave
