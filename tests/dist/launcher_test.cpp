// Launcher detection: the variables of Open MPI, MPICH's hydra and PMIx.
#include "rnnwave/dist/launcher.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "io/expect_error.h"

namespace rnnwave::dist {
namespace {

LaunchInfo detect(const std::map<std::string, std::string>& env) {
  return detect_launcher([&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(Launcher, NoVariablesMeansNoLauncher) {
  const LaunchInfo info = detect({{"PATH", "/bin"}, {"SLURM_PROCID", "3"}});
  EXPECT_FALSE(info.launched);
  EXPECT_FALSE(launched_as_many(info));
  EXPECT_NO_THROW(refuse_launcher_without_mpi(info));
}

TEST(Launcher, OpenMpiSizeAndRank) {
  const LaunchInfo info = detect({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "2"}, {"PMIX_RANK", "2"}});
  EXPECT_TRUE(info.launched);
  EXPECT_EQ(info.size, 4);
  EXPECT_EQ(info.rank, 2);
  EXPECT_EQ(info.evidence, "OMPI_COMM_WORLD_SIZE=4");
  EXPECT_ERROR_CONTAINING(refuse_launcher_without_mpi(info), "built without MPI", "one of 4 processes",
                          "(OMPI_COMM_WORLD_SIZE=4)", "4 independent copies");
}

TEST(Launcher, HydraSizeAndRank) {
  const LaunchInfo info = detect({{"PMI_SIZE", "3"}, {"PMI_RANK", "0"}, {"MPI_LOCALNRANKS", "3"}});
  EXPECT_EQ(info.size, 3);
  EXPECT_EQ(info.rank, 0);
  EXPECT_ERROR_CONTAINING(refuse_launcher_without_mpi(info), "one of 3 processes", "(PMI_SIZE=3)");
}

TEST(Launcher, RankAloneAboveZeroMeansSeveral) {
  const LaunchInfo info = detect({{"PMIX_RANK", "1"}});
  EXPECT_TRUE(launched_as_many(info));
  EXPECT_ERROR_CONTAINING(refuse_launcher_without_mpi(info), "one of several processes", "(PMIX_RANK=1)");
}

TEST(Launcher, AJobOfOneIsTheOrdinaryRun) {
  const LaunchInfo info = detect({{"OMPI_COMM_WORLD_SIZE", "1"}, {"OMPI_COMM_WORLD_RANK", "0"}});
  EXPECT_TRUE(info.launched);
  EXPECT_FALSE(launched_as_many(info));
  EXPECT_NO_THROW(refuse_launcher_without_mpi(info));
}

TEST(Launcher, ValuesThatAreNotCountsAreIgnored) {
  const LaunchInfo info = detect({{"PMI_SIZE", "4x"}, {"OMPI_COMM_WORLD_SIZE", "-2"}, {"PMI_RANK", ""}});
  EXPECT_FALSE(info.launched);
}

}  // namespace
}  // namespace rnnwave::dist
