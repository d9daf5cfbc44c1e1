#include "io/zip_archive.h"

#include <zip.h>

#include <algorithm>
#include <memory>

#include "common/memory_limits.h"
#include "common/strings.h"
#include "io/python_literal.h"

namespace rnnwave {
namespace {

/// DEFLATE cannot expand data by more than 1032:1 (one 258-byte match per 2 bits); a
/// member claiming more is lying about its size. The slack covers tiny members.
constexpr double kMaxDeflateRatio = 1032.0;
constexpr double kDeflateSlackBytes = 1024.0;

/// 2000-01-01T00:00:00Z: a fixed member timestamp makes equal arrays give equal archives.
constexpr time_t kMemberTime = 946684800;

/// An archive with no members: just the end-of-central-directory record. libzip does
/// not write one (zip_close deletes an empty archive), but np.savez() does.
constexpr unsigned char kEmptyZip[22] = {'P', 'K', 5, 6};

struct ArchiveDeleter {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct FileDeleter {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
struct SourceDeleter {
  void operator()(zip_source_t* source) const { zip_source_free(source); }
};
using ArchivePtr = std::unique_ptr<zip_t, ArchiveDeleter>;
using FilePtr = std::unique_ptr<zip_file_t, FileDeleter>;
using SourcePtr = std::unique_ptr<zip_source_t, SourceDeleter>;

/// libzip's message for an error structure, which is then released.
std::string take_message(zip_error_t* error) {
  std::string message = zip_error_strerror(error);
  zip_error_fini(error);
  return message;
}

/// Opens `bytes` as an archive; the buffer is referenced, not copied. ZIP_CHECKCONS makes
/// libzip compare every local header with the central directory.
ArchivePtr open_archive(std::span<const std::byte> bytes, std::string_view what) {
  zip_error_t error;
  zip_error_init(&error);
  SourcePtr source(zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error));
  if (!source) fail(what, ": cannot read the zip archive: ", take_message(&error));
  ArchivePtr archive(zip_open_from_source(source.get(), ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!archive) {
    // libzip's words for two members with one name ("File already exists") need context.
    const char* context = zip_error_code_zip(&error) == ZIP_ER_EXISTS ? "duplicate member name: " : "";
    fail(what, ": not a valid zip archive: ", context, take_message(&error));
  }
  source.release();  // the archive owns it now
  zip_error_fini(&error);
  return archive;
}

/// Refuses sizes that cannot be true, before anything is allocated.
void check_member_sizes(const zip_stat_t& stat, size_t archive_bytes, std::string_view member) {
  const auto size = static_cast<double>(stat.size);
  const auto compressed = static_cast<double>(stat.comp_size);
  if (compressed > static_cast<double>(archive_bytes)) {
    fail(member, ": compressed size ", stat.comp_size, " exceeds the archive's ", archive_bytes, " bytes");
  }
  if (stat.comp_method == ZIP_CM_STORE && stat.size != stat.comp_size) {
    fail(member, ": stored uncompressed but its sizes differ (", stat.size, " vs ", stat.comp_size,
         " bytes)");
  }
  if (stat.comp_method == ZIP_CM_DEFLATE && size > compressed * kMaxDeflateRatio + kDeflateSlackBytes) {
    fail(member, ": claims ", stat.size, " bytes from ", stat.comp_size,
         " compressed bytes, more than deflate can produce");
  }
}

/// Bytes inflated per call: the buffer grows by at most this much ahead of the data.
constexpr size_t kChunkBytes = size_t{1} << 20;

}  // namespace

struct ZipReader::Archive {
  ArchivePtr zip;
};

ZipReader::ZipReader(std::span<const std::byte> bytes, std::string_view what) : what_(what) {
  // libzip reads an empty file as an empty archive; numpy calls it "not a zip file".
  if (bytes.empty()) fail(what, ": not a valid zip archive: the file is empty");
  archive_ = std::make_unique<Archive>(Archive{open_archive(bytes, what)});
  zip_t* archive = archive_->zip.get();
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  for (zip_int64_t index = 0; index < count; ++index) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive, static_cast<zip_uint64_t>(index), 0, &stat) != 0) {
      fail(what, ": member ", index, ": ", zip_strerror(archive));
    }
    constexpr zip_uint64_t needed = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
                                    ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
    if ((stat.valid & needed) != needed) fail(what, ": member ", index, ": incomplete directory entry");
    const std::string member = cat(what, ": member ", quote_for_message(stat.name));
    if (stat.encryption_method != ZIP_EM_NONE) fail(member, ": encrypted members are not supported");
    if (stat.comp_method != ZIP_CM_STORE && stat.comp_method != ZIP_CM_DEFLATE) {
      fail(member, ": compression method ", stat.comp_method,
           " is not supported (only stored and deflated, as numpy writes)");
    }
    check_member_sizes(stat, bytes.size(), member);
    members_.push_back({stat.name, stat.size, stat.comp_size, stat.index});
  }
}

ZipReader::~ZipReader() = default;
ZipReader::ZipReader(ZipReader&&) noexcept = default;
ZipReader& ZipReader::operator=(ZipReader&&) noexcept = default;

std::string ZipReader::label(const ZipMember& member) const {
  return cat(what_, ": member ", quote_for_message(member.name));
}

std::vector<std::byte> ZipReader::read(const ZipMember& m, uint64_t max_bytes, std::string_view expected) const {
  const std::string member = label(m);
  if (m.size > max_bytes) {
    fail(member, ": declares ", m.size, " bytes (", format_bytes(static_cast<double>(m.size)),
         "), more than ", expected);
  }
  check_fits_in_memory(static_cast<double>(m.size), member);
  FilePtr file(zip_fopen_index(archive_->zip.get(), m.index, 0));
  if (!file) fail(member, ": cannot open: ", zip_strerror(archive_->zip.get()));
  std::vector<std::byte> bytes;
  size_t done = 0;
  while (done < m.size) {
    const size_t step = static_cast<size_t>(std::min<uint64_t>(kChunkBytes, m.size - done));
    bytes.resize(done + step);
    const zip_int64_t n = zip_fread(file.get(), bytes.data() + done, step);
    if (n < 0) fail(member, ": ", zip_file_strerror(file.get()));
    if (n == 0) fail(member, ": data ends after ", done, " of ", m.size, " declared bytes");
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  // Reading to the end makes libzip verify the CRC and the size.
  std::byte probe[1];
  const zip_int64_t extra = zip_fread(file.get(), probe, sizeof probe);
  if (extra < 0) fail(member, ": ", zip_file_strerror(file.get()));
  if (extra > 0) fail(member, ": data is longer than the declared ", m.size, " bytes");
  return bytes;
}

std::vector<std::byte> ZipReader::read_prefix(const ZipMember& m, size_t count) const {
  const std::string member = label(m);
  FilePtr file(zip_fopen_index(archive_->zip.get(), m.index, 0));
  if (!file) fail(member, ": cannot open: ", zip_strerror(archive_->zip.get()));
  std::vector<std::byte> bytes(static_cast<size_t>(std::min<uint64_t>(count, m.size)));
  size_t done = 0;
  while (done < bytes.size()) {
    const zip_int64_t n = zip_fread(file.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) fail(member, ": ", zip_file_strerror(file.get()));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

void for_each_zip_member(std::span<const std::byte> bytes, std::string_view what,
                         const std::function<void(const std::string& name,
                                                  std::span<const std::byte> bytes)>& visit) {
  const ZipReader reader(bytes, what);
  for (const ZipMember& member : reader.members()) visit(member.name, reader.read(member));
}

std::vector<std::byte> make_stored_zip(
    const std::vector<std::pair<std::string, std::vector<std::byte>>>& members, std::string_view what) {
  if (members.empty()) {
    const auto* begin = reinterpret_cast<const std::byte*>(kEmptyZip);
    return std::vector<std::byte>(begin, begin + sizeof kEmptyZip);
  }
  zip_error_t error;
  zip_error_init(&error);
  SourcePtr buffer(zip_source_buffer_create(nullptr, 0, 0, &error));
  if (!buffer) fail(what, ": cannot create a zip archive: ", take_message(&error));
  // The archive takes one reference to the buffer and drops it on close; this keeps the
  // buffer alive so we can read the finished archive back out of it.
  zip_source_keep(buffer.get());
  ArchivePtr archive(zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &error));
  if (!archive) {
    zip_source_free(buffer.get());  // the reference the archive did not take
    fail(what, ": cannot create a zip archive: ", take_message(&error));
  }
  zip_error_fini(&error);

  for (const auto& [name, data] : members) {
    const std::string member = cat(what, ": member ", quote_for_message(name, 80));
    SourcePtr source(zip_source_buffer(archive.get(), data.data(), data.size(), 0));
    if (!source) fail(member, ": ", zip_strerror(archive.get()));
    const zip_int64_t index = zip_file_add(archive.get(), name.c_str(), source.get(), ZIP_FL_ENC_UTF_8);
    if (index < 0) fail(member, ": ", zip_strerror(archive.get()));
    source.release();  // owned by the archive once added
    const auto at = static_cast<zip_uint64_t>(index);
    if (zip_set_file_compression(archive.get(), at, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(archive.get(), at, kMemberTime, 0) != 0) {
      fail(member, ": ", zip_strerror(archive.get()));
    }
  }
  if (zip_close(archive.get()) != 0) fail(what, ": cannot finish the zip archive: ", zip_strerror(archive.get()));
  archive.release();  // zip_close freed it

  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_source_stat(buffer.get(), &stat) != 0 || (stat.valid & ZIP_STAT_SIZE) == 0 ||
      zip_source_open(buffer.get()) != 0) {
    fail(what, ": cannot read back the zip archive: ", zip_error_strerror(zip_source_error(buffer.get())));
  }
  std::vector<std::byte> out(static_cast<size_t>(stat.size));
  size_t done = 0;
  while (done < out.size()) {
    const zip_int64_t n = zip_source_read(buffer.get(), out.data() + done, out.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  zip_source_close(buffer.get());
  if (done != out.size()) {
    fail(what, ": cannot read back the zip archive: got ", done, " of ", out.size(), " bytes");
  }
  return out;
}

}  // namespace rnnwave
