#include "builder/tar/file_records.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "builder/base/check.h"

namespace strata::builder {
namespace {

// A record: flags, type, then varints (path length, mode, uid, gid, size, link length), the
// path's and the link's bytes and, when flagged, the 32 digest bytes. uid, gid and size are
// zigzag-coded: a hostile tar may carry negative ones, and they must read back as written.
constexpr uint8_t kHasDigest = 1;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Reads what put_varint wrote. The bytes were written by this process, so they are trusted.
uint64_t get_varint(const std::string& in, size_t& at) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    auto byte = static_cast<uint8_t>(in[at++]);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
}

void encode(std::string& out, const LayerFile& f) {
  bool has_digest = !f.sha256.empty();
  out.push_back(static_cast<char>(has_digest ? kHasDigest : 0));
  out.push_back(static_cast<char>(f.type));
  put_varint(out, f.path.size());
  put_varint(out, f.mode);
  put_varint(out, zigzag(f.uid));
  put_varint(out, zigzag(f.gid));
  put_varint(out, zigzag(f.size));
  put_varint(out, f.link_target.size());
  out.append(f.path);
  out.append(f.link_target);
  if (has_digest) out.append(reinterpret_cast<const char*>(f.sha256.bytes.data()), 32);
}

// Decodes the record at `at` into `f` (reusing its strings' buffers) and returns the offset
// of the next one.
size_t decode_at(const std::string& chunk, size_t at, LayerFile& f) {
  auto flags = static_cast<uint8_t>(chunk[at++]);
  f.type = static_cast<EntryType>(chunk[at++]);
  size_t path_size = get_varint(chunk, at);
  f.mode = static_cast<uint32_t>(get_varint(chunk, at));
  f.uid = unzigzag(get_varint(chunk, at));
  f.gid = unzigzag(get_varint(chunk, at));
  f.size = unzigzag(get_varint(chunk, at));
  size_t link_size = get_varint(chunk, at);
  f.path.assign(chunk, at, path_size);
  at += path_size;
  f.link_target.assign(chunk, at, link_size);
  at += link_size;
  if (flags & kHasDigest) {
    std::memcpy(f.sha256.bytes.data(), chunk.data() + at, 32);
    at += 32;
  } else {
    f.sha256 = PackedDigest{};
  }
  return at;
}

}  // namespace

FileRecords::FileRecords(const std::vector<LayerFile>& files) {
  for (const LayerFile& f : files) push_back(f);
}

FileRecords::Spill::~Spill() {
  if (fd >= 0) ::close(fd);
}

void FileRecords::spill_to(const std::string& dir) {
  if (spill_ != nullptr) return;
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return;  // e.g. a file system without O_TMPFILE: the records stay in memory
  spill_ = std::make_shared<Spill>();
  spill_->fd = fd;
}

std::optional<Error> FileRecords::read_error() const {
  return spill_ != nullptr ? spill_->read_error : std::nullopt;
}

// Writes the one chunk in memory to the file and empties it for reuse. A failed write
// (ENOSPC) keeps it and the rest in memory.
void FileRecords::spill_full_chunk() {
  std::string& chunk = chunks_.back();
  size_t done = 0;
  while (done < chunk.size()) {
    ssize_t n = ::pwrite(spill_->fd, chunk.data() + done, chunk.size() - done,
                         static_cast<off_t>(spill_->end + static_cast<int64_t>(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spill_->writable = false;
      return;
    }
    done += static_cast<size_t>(n);
  }
  spill_->chunks.emplace_back(spill_->end, chunk.size());
  spill_->end += static_cast<int64_t>(chunk.size());
  chunk.clear();
}

void FileRecords::push_back(const LayerFile& file) {
  // At most 2 + 6 varints of 10 bytes + the strings + the digest.
  size_t most = 2 + 60 + file.path.size() + file.link_target.size() + 32;
  if (chunks_.empty() || chunks_.back().size() + most > chunks_.back().capacity()) {
    if (!chunks_.empty() && spill_ != nullptr && spill_->writable && chunks_.size() == 1) {
      spill_full_chunk();
    }
    if (!chunks_.empty() && chunks_.back().empty()) {
      chunks_.back().reserve(std::max(kChunkBytes, most));  // the spilled chunk's buffer
    } else {
      chunks_.emplace_back().reserve(std::max(kChunkBytes, most));
    }
  }
  encode(chunks_.back(), file);
  ++count_;
}

void FileRecords::clear() {
  spill_.reset();
  std::vector<std::string>().swap(chunks_);
  count_ = 0;
}

size_t FileRecords::packed_bytes() const {
  size_t n = 0;
  if (spill_ != nullptr) {
    for (const auto& [offset, size] : spill_->chunks) n += size;
  }
  for (const std::string& c : chunks_) n += c.size();
  return n;
}

FileRecords::const_iterator::const_iterator(const FileRecords* records, size_t chunk, size_t offset)
    : records_(records), chunk_(chunk), offset_(offset) {
  decode();
}

const std::string* FileRecords::const_iterator::load(size_t chunk) {
  const Spill* spill = records_->spill_.get();
  size_t spilled = spill != nullptr ? spill->chunks.size() : 0;
  if (chunk >= spilled) {
    size_t i = chunk - spilled;
    return i < records_->chunks_.size() ? &records_->chunks_[i] : nullptr;
  }
  if (buffered_ == chunk) return &buffer_;
  auto [offset, size] = spill->chunks[chunk];
  buffer_.resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(spill->fd, buffer_.data() + done, size - done,
                        static_cast<off_t>(offset + static_cast<int64_t>(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The records are this process's own file: only a failing disk gets here.
      records_->spill_->read_error =
          n < 0 ? Error::sys("reading the layer's file records back", errno)
                : Error::io("the layer's file records file is short");
      buffered_ = SIZE_MAX;
      return nullptr;
    }
    done += static_cast<size_t>(n);
  }
  buffered_ = chunk;
  return &buffer_;
}

void FileRecords::const_iterator::decode() {
  size_t count = records_->chunk_count();
  while (chunk_ < count) {
    const std::string* chunk = load(chunk_);
    if (chunk == nullptr) break;  // a read error: the iteration ends here
    if (offset_ < chunk->size()) {
      next_ = decode_at(*chunk, offset_, current_);
      return;
    }
    ++chunk_;
    offset_ = 0;
  }
  chunk_ = count;
  offset_ = 0;
}

FileRecords::const_iterator& FileRecords::const_iterator::operator++() {
  STRATA_CHECK(records_ != nullptr && chunk_ < records_->chunk_count());
  offset_ = next_;
  decode();
  return *this;
}

FileRecords::const_iterator FileRecords::begin() const { return const_iterator(this, 0, 0); }
FileRecords::const_iterator FileRecords::end() const {
  const_iterator it;
  it.records_ = this;
  it.chunk_ = chunk_count();
  return it;
}

std::vector<LayerFile> FileRecords::to_vector() const {
  std::vector<LayerFile> out;
  out.reserve(count_);
  for (const LayerFile& f : *this) out.push_back(f);
  return out;
}

bool operator==(const FileRecords& a, const FileRecords& b) {
  if (a.size() != b.size()) return false;
  auto i = a.begin();
  for (const LayerFile& f : b) {
    if (i == a.end() || !(*i == f)) return false;
    ++i;
  }
  return i == a.end() && !a.read_error() && !b.read_error();
}

}  // namespace strata::builder
