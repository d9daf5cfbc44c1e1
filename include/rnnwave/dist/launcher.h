// rnnwave/dist/launcher.h — was this process started by an MPI launcher?
//
// mpirun (Open MPI), mpiexec (MPICH's hydra) and srun with PMI or PMIx tell each process
// its rank and the job's size through environment variables. A program built without MPI
// that is started by such a launcher would run K independent copies that each train the
// whole model and overwrite each other's files; it must refuse instead. A program built
// with one MPI but started by another implementation's launcher would do the same (each
// process initialises as a job of one); World checks that too.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace rnnwave::dist {

/// What the environment says about the launcher, if anything.
struct LaunchInfo {
  bool launched = false;  ///< some launcher variable is set
  int size = 0;           ///< the job's process count, or 0 if no variable gives it
  int rank = -1;          ///< this process's rank, or -1 if no variable gives it
  std::string evidence;   ///< the variable that decided, "NAME=value", for messages
};

/// Reads the launchers' variables: OMPI_COMM_WORLD_SIZE / OMPI_COMM_WORLD_RANK (Open
/// MPI), PMI_SIZE / PMI_RANK (MPICH's hydra, Intel MPI, srun --mpi=pmi2), PMIX_RANK
/// (Open MPI, srun --mpi=pmix), MPI_LOCALNRANKS (hydra). `getenv` defaults to the
/// process environment (tests pass their own). Values that are not integers are ignored.
LaunchInfo detect_launcher(
    const std::function<const char*(const char*)>& getenv = nullptr);

/// True when the launcher started more than one process: the size is above 1, or the
/// rank is above 0.
bool launched_as_many(const LaunchInfo& info);

/// For programs built without MPI: throws Error with a one-line message when the process
/// was started by an MPI launcher as one of several processes, e.g. "this rnnwave was
/// built without MPI but was started by an MPI launcher as one of 4 processes
/// (OMPI_COMM_WORLD_SIZE=4): it would run 4 independent copies; rebuild with MPI (see
/// README, 'On a cluster') or run it without mpirun". A launcher job of one process is
/// allowed: it is the ordinary single-process run. World's constructor calls this in
/// builds without MPI; the CLI may call it earlier.
void refuse_launcher_without_mpi(const LaunchInfo& info);

/// Whether this build of the library has MPI (CMake option RNNWAVE_MPI).
bool built_with_mpi();

}  // namespace rnnwave::dist
