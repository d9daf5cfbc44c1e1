// rnnwave/dist/run.h — how a distributed program ends when something goes wrong.
#pragma once

#include <functional>
#include <string_view>

#include "rnnwave/dist/world.h"
#include "rnnwave/error.h"

namespace rnnwave::dist {

/// An error that every rank raises together, from the same cause: a configuration that
/// differs between ranks (check_same_config), a flag that does not fit the rank count.
/// Rank 0's message is the one printed; the ranks leave together, without MPI_Abort.
/// Throwing it on some ranks only is a bug: the others are ended after the barrier's
/// deadline.
class CollectiveError : public Error {
 public:
  explicit CollectiveError(const std::string& message) : Error(message) {}
};

/// Creates the World and runs body(world); returns the process's exit status. Every
/// failure ends every rank with status 1 and one line on stderr:
///  - a CollectiveError: rank 0 prints "<program>: error: <message>"; all ranks meet at a
///    barrier (bounded by the deadline) and return 1;
///  - any other exception on a rank of several: that rank prints
///    "<program>: error: rank R: <message>" and ends the job (MPI_Abort), so no rank waits
///    forever for it;
///  - the World cannot be made (see World): the launcher's rank 0 (or a process without
///    a rank) prints "<program>: error: <message>" and returns 1;
///  - one process: "<program>: error: <message>", return 1.
/// A rank that stops answering is ended by its peers' deadlines (WorldOptions::timeout).
int run_distributed(const WorldOptions& options, const std::function<int(World&)>& body);

}  // namespace rnnwave::dist
