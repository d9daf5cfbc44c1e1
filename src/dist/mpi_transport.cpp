// The MPI transport: MPI's initialisation, one communicator per channel, and the progress
// thread that tests every pending request, advances operations stage by stage and ends
// the job when a deadline passes. The only file of the project that includes <mpi.h>
// (besides the MPI benchmark).
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "common/strings.h"
#include "dist/transport.h"

namespace rnnwave::dist {

bool built_with_mpi() { return true; }

namespace detail {

using Clock = std::chrono::steady_clock;

/// One operation's state; every field after `spec` is guarded by the transport's mutex.
class Op {
 public:
  explicit Op(OpSpec s) : spec(std::move(s)) {}
  OpSpec spec;
  std::vector<MPI_Request> requests;  ///< the current stage's, MPI_REQUEST_NULL once done
  std::vector<Message> pieces;        ///< what each request moves (a message or a piece of one)
  int64_t pending = 0;                ///< requests of the stage not yet complete
  Clock::time_point last_progress;
  bool computing = false;  ///< the progress thread is computing the next stage, unlocked
  bool done = false;       ///< complete and its on_done has returned: test() and wait() may return
};

namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return cat("MPI error code ", code);
  return std::string(text, static_cast<size_t>(length));
}

std::string first_line(std::string text, size_t max_length) {
  const auto newline = text.find_first_of("\r\n");
  if (newline != std::string::npos) text.resize(newline);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  if (text.size() > max_length) text = text.substr(0, max_length) + "...";
  return text;
}

/// Only the first fatal line of a process is printed.
std::atomic<bool> g_aborting{false};

class MpiTransport final : public Transport {
 public:
  MpiTransport(const WorldOptions& options, const LaunchInfo& launch) : options_(options) {
    init_mpi(launch);
    channels_.push_back(duplicate_world("opening the control channel"));
    progress_ = std::thread([this] { progress_loop(); });
  }

  ~MpiTransport() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    progress_.join();
    if (!active_.empty()) {
      abort(cat(options_.program, ": error: rank ", rank_, ": the run ended with ", active_.size(),
                " transfers still in flight, the first while ", active_.front()->spec.what));
    }
    for (MPI_Comm& comm : channels_) MPI_Comm_free(&comm);
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int tag_limit() const override { return tag_ub_; }
  std::string library_version() const override { return version_; }

  int open_channel(std::string_view what) override {
    MPI_Comm comm = duplicate_world(cat("opening the channel for ", what));
    std::lock_guard lock(mutex_);
    channels_.push_back(comm);
    return static_cast<int>(channels_.size()) - 1;
  }

  OpHandle start(OpSpec spec) override {
    {
      std::lock_guard lock(mutex_);  // channels_ may grow on another thread
      if (spec.channel < 0 || spec.channel >= static_cast<int>(channels_.size())) {
        fail("dist: channel ", spec.channel, " was never opened");
      }
    }
    auto op = std::make_shared<Op>(std::move(spec));
    std::vector<Message> messages = compute_stage(*op);
    if (messages.empty()) {
      notify_done(*op);
      op->done = true;
      return op;
    }
    {
      std::lock_guard lock(mutex_);
      post_locked(*op, messages);
      active_.push_back(op);
    }
    work_cv_.notify_one();
    return op;
  }

  bool test(const OpHandle& op) override {
    std::unique_lock lock(mutex_);
    if (!op->done) progress_pass(lock);
    return op->done;
  }

  /// Polls while waiting, as MPI_Wait does: for the first kSpin it yields between passes
  /// (a sleep costs tens of microseconds of timer slack on Linux, more than a message
  /// between two ranks of one node), then sleeps with the progress thread's backoff. The
  /// progress thread may complete the operation too, and then wakes this one.
  void wait(const OpHandle& op) override {
    constexpr auto kSpin = std::chrono::microseconds(100);
    std::unique_lock lock(mutex_);
    auto sleep = std::chrono::microseconds(1);
    auto idle_since = Clock::now();
    while (!op->done) {
      if (progress_pass(lock)) {
        sleep = std::chrono::microseconds(1);
        idle_since = Clock::now();
        continue;
      }
      if (Clock::now() - idle_since < kSpin) {
        lock.unlock();
        std::this_thread::yield();
        lock.lock();
        continue;
      }
      done_cv_.wait_for(lock, sleep);
      sleep = std::min(sleep * 2, options_.max_poll_interval);
    }
  }

  void barrier(std::string_view what) override {
    MPI_Request request;
    {
      std::lock_guard lock(mutex_);
      check(MPI_Ibarrier(channels_[0], &request), what);
    }
    poll_until_done(request, std::string(what));
  }

  [[noreturn]] void abort(std::string_view line) override {
    // Never called with the lock held (inside the transport, abort_locked is). The
    // progress thread holds the lock only across calls that do not block; should it not
    // come back within a second, abort without it.
    std::unique_lock lock(mutex_, std::defer_lock);
    for (int i = 0; i < 1000 && !lock.try_lock(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    abort_locked(line);
  }

 private:
  void init_mpi(const LaunchInfo& launch) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) fail("dist: MPI was already finalised in this process (one World per process)");
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) fail("dist: MPI was initialised outside rnnwave's World");
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
      fail("dist: MPI_Init_thread failed");
    }
    if (provided < MPI_THREAD_SERIALIZED) {
      MPI_Finalize();
      fail("dist: the MPI library provides thread level ", provided,
           "; rnnwave needs MPI_THREAD_SERIALIZED (its progress thread makes the MPI calls)");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    int* tag_ub = nullptr;
    int found = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &found);
    tag_ub_ = found && tag_ub != nullptr ? *tag_ub : 32767;  // 32767: the standard's minimum
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    version_ = first_line(std::string(version, static_cast<size_t>(length)), 120);
    if (launch.size > 1 && launch.size != size_) {
      MPI_Finalize();
      fail("started by an MPI launcher as one of ", launch.size, " processes (", launch.evidence,
           ") but MPI sees a job of ", size_, ": the launcher does not belong to the MPI this rnnwave was built with (",
           version_.substr(0, version_.find(',')), "); start it with that implementation's mpirun");
    }
  }

  MPI_Comm duplicate_world(const std::string& what) {
    MPI_Comm comm = MPI_COMM_NULL;
    MPI_Request request;
    {
      std::lock_guard lock(mutex_);
      check(MPI_Comm_idup(MPI_COMM_WORLD, &comm, &request), what);
    }
    poll_until_done(request, what);
    return comm;
  }

  /// Polls a collective's request on the calling thread; "some rank" because a collective
  /// does not say who is missing.
  void poll_until_done(MPI_Request& request, const std::string& what) {
    const auto started = Clock::now();
    auto sleep = std::chrono::microseconds(1);
    while (true) {
      int flag = 0;
      {
        std::lock_guard lock(mutex_);
        check(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), what);
      }
      if (flag) return;
      if (Clock::now() - started > options_.timeout) {
        abort(cat(options_.program, ": error: rank ", rank_, ": no answer from some rank for ",
                  format_seconds(options_.timeout), " while ", what));
      }
      std::this_thread::sleep_for(sleep);
      sleep = std::min(sleep * 2, options_.max_poll_interval);
    }
  }

  void check(int code, std::string_view what) {
    if (code == MPI_SUCCESS) return;
    abort_locked(cat(options_.program, ": error: rank ", rank_, ": MPI failed while ", what, ": ",
                     mpi_error_text(code)));
  }

  [[noreturn]] void abort_locked(std::string_view line) {
    if (!g_aborting.exchange(true)) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
      std::fflush(stderr);
      // The launcher forwards our stderr through a pipe and kills every rank on
      // MPI_Abort; without a pause MPICH's hydra sometimes exits before it has read the
      // line, and the user sees only "killed".
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }

  /// Runs the operation's stage function; an exception ends the job with its message.
  std::vector<Message> compute_stage(Op& op) {
    try {
      return op.spec.next_stage();
    } catch (const std::exception& e) {
      abort(cat(options_.program, ": error: rank ", rank_, ": ", e.what(), " (while ", op.spec.what, ")"));
    }
  }

  void notify_done(Op& op) {
    if (!op.spec.on_done) return;
    try {
      op.spec.on_done();
    } catch (const std::exception& e) {
      abort(cat(options_.program, ": error: rank ", rank_, ": ", e.what(), " (after ", op.spec.what, ")"));
    }
  }

  void post_locked(Op& op, const std::vector<Message>& messages) {
    op.requests.clear();
    op.pieces.clear();
    const MPI_Comm comm = channels_[op.spec.channel];
    for (const Message& m : messages) {
      if (m.peer < 0 || m.peer >= size_ || m.tag < 0 || m.tag > tag_ub_ || m.bytes < 0) {
        abort_locked(cat(options_.program, ": error: rank ", rank_, ": bad message (peer ", m.peer, ", tag ",
                         m.tag, ", ", m.bytes, " bytes) while ", op.spec.what));
      }
      // Pieces of one message share its tag: MPI delivers messages of one sender, tag and
      // communicator in the order they were sent, to receives in the order they were posted.
      int64_t offset = 0;
      do {
        Message piece = m;
        piece.data = static_cast<char*>(m.data) + offset;
        piece.bytes = std::min(m.bytes - offset, options_.max_message_bytes);
        MPI_Request request;
        const int count = static_cast<int>(piece.bytes);
        const int code = m.kind == Message::Kind::send
                             ? MPI_Isend(piece.data, count, MPI_BYTE, m.peer, m.tag, comm, &request)
                             : MPI_Irecv(piece.data, count, MPI_BYTE, m.peer, m.tag, comm, &request);
        check(code, op.spec.what);
        op.requests.push_back(request);
        op.pieces.push_back(piece);
        offset += piece.bytes;
      } while (offset < m.bytes);
    }
    op.pending = static_cast<int64_t>(op.requests.size());
    op.last_progress = Clock::now();
  }

  /// Tests the operation's requests; true when its stage is complete.
  bool test_locked(Op& op, Clock::time_point now) {
    const int n = static_cast<int>(op.requests.size());
    indices_.resize(static_cast<size_t>(n));
    statuses_.resize(static_cast<size_t>(n));
    int completed = 0;
    const int code = MPI_Testsome(n, op.requests.data(), &completed, indices_.data(), statuses_.data());
    if (code != MPI_SUCCESS && code != MPI_ERR_IN_STATUS) check(code, op.spec.what);
    if (completed == MPI_UNDEFINED) completed = 0;
    for (int k = 0; k < completed; ++k) {
      const Message& piece = op.pieces[static_cast<size_t>(indices_[k])];
      const MPI_Status& status = statuses_[static_cast<size_t>(k)];
      if (code == MPI_ERR_IN_STATUS && status.MPI_ERROR != MPI_SUCCESS) {
        abort_locked(cat(options_.program, ": error: rank ", rank_, ": MPI failed with rank ", piece.peer,
                         " while ", op.spec.what, ": ", mpi_error_text(status.MPI_ERROR)));
      }
      if (piece.kind == Message::Kind::receive) check_count(op, piece, status);
    }
    if (completed > 0) {
      op.pending -= completed;
      op.last_progress = now;
    }
    return op.pending == 0;
  }

  void check_count(const Op& op, const Message& piece, const MPI_Status& status) {
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    if (count == piece.bytes) return;
    abort_locked(cat(options_.program, ": error: rank ", rank_, ": rank ", piece.peer, " sent ", count,
                     " bytes where ", piece.bytes, " were expected while ", op.spec.what));
  }

  [[noreturn]] void timed_out_locked(const Op& op) {
    // Name the peer of a pending receive if there is one (a pending send may just be
    // waiting for our own peer to post its receive).
    int peer = -1;
    for (int pass = 0; pass < 2 && peer < 0; ++pass) {
      for (size_t i = 0; i < op.requests.size(); ++i) {
        const bool wanted = pass == 1 || op.pieces[i].kind == Message::Kind::receive;
        if (op.requests[i] != MPI_REQUEST_NULL && wanted) {
          peer = op.pieces[i].peer;
          break;
        }
      }
    }
    abort_locked(cat(options_.program, ": error: rank ", rank_, ": no answer from rank ", peer, " for ",
                     format_seconds(op.spec.timeout), " while ", op.spec.what));
  }

  /// One pass over every operation in flight: tests their requests, advances those whose
  /// stage completed, ends the job on a passed deadline. Run by the progress thread, and by
  /// callers of test() and wait(), which thus move their own transfers without waiting for
  /// the progress thread to wake up. Returns whether anything completed.
  bool progress_pass(std::unique_lock<std::mutex>& lock) {
    const auto now = Clock::now();
    bool progressed = false;
    std::vector<OpHandle> staged;
    for (const OpHandle& op : active_) {
      if (op->computing) continue;
      const int64_t before = op->pending;
      if (test_locked(*op, now)) {
        op->computing = true;
        staged.push_back(op);
      } else if (now - op->last_progress > op->spec.timeout) {
        timed_out_locked(*op);
      }
      progressed = progressed || op->pending != before;
    }
    if (staged.empty()) return progressed;
    advance(lock, staged);
    return true;
  }

  void progress_loop() {
    std::unique_lock lock(mutex_);
    auto sleep = std::chrono::microseconds(1);
    while (true) {
      work_cv_.wait(lock, [&] { return stopping_ || !active_.empty(); });
      if (stopping_) return;  // the destructor reports what is still in flight
      if (progress_pass(lock)) {
        sleep = std::chrono::microseconds(1);
        continue;
      }
      work_cv_.wait_for(lock, sleep);
      sleep = std::min(sleep * 2, options_.max_poll_interval);
    }
  }

  /// Computes the next stage of each operation whose stage completed (unlocked: it may be
  /// arithmetic), then posts it, or completes the operation.
  void advance(std::unique_lock<std::mutex>& lock, const std::vector<OpHandle>& staged) {
    lock.unlock();
    std::vector<std::vector<Message>> next(staged.size());
    for (size_t i = 0; i < staged.size(); ++i) next[i] = compute_stage(*staged[i]);
    lock.lock();
    std::vector<OpHandle> finished;
    for (size_t i = 0; i < staged.size(); ++i) {
      Op& op = *staged[i];
      op.computing = false;
      if (!next[i].empty()) {
        post_locked(op, next[i]);
        continue;
      }
      finished.push_back(staged[i]);
      active_.erase(std::find(active_.begin(), active_.end(), staged[i]));
    }
    if (finished.empty()) return;
    // An operation is done only once its on_done has returned: a caller's wait() or test()
    // that returned earlier could let it read what on_done has not yet written, or end the
    // life of what on_done captured.
    lock.unlock();
    for (const OpHandle& op : finished) notify_done(*op);
    lock.lock();
    for (const OpHandle& op : finished) op->done = true;
    done_cv_.notify_all();
  }

  WorldOptions options_;
  int rank_ = 0;
  int size_ = 1;
  int tag_ub_ = 32767;
  std::string version_;
  std::mutex mutex_;  // every MPI call after MPI_Init_thread is made under it
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::vector<OpHandle> active_;
  std::vector<MPI_Comm> channels_;
  std::vector<int> indices_;
  std::vector<MPI_Status> statuses_;
  bool stopping_ = false;
  std::thread progress_;
};

}  // namespace

std::unique_ptr<Transport> make_mpi_transport(const WorldOptions& options, const LaunchInfo& launch) {
  return std::make_unique<MpiTransport>(options, launch);
}

}  // namespace detail
}  // namespace rnnwave::dist
