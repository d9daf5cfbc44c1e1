// The handshake's hashes and rank 0's message, in one process.
#include <gtest/gtest.h>

#include <vector>

#include "dist/config_digest.h"
#include "io/expect_error.h"
#include "rnnwave/dist/config_check.h"
#include "rnnwave/dist/world.h"

namespace rnnwave::dist::detail {
namespace {

const std::vector<ConfigItem> kItems{{"flags", "--lr 0.1 --shards 4"}, {"build", "abc123"}, {"data order", "ff00"}};

TEST(ConfigCheck, EqualItemsAgree) {
  EXPECT_EQ(first_difference(config_digest(kItems), config_digest(kItems)), -1);
}

TEST(ConfigCheck, FindsTheFirstItemThatDiffers) {
  auto other = kItems;
  other[2].value = "ff01";
  EXPECT_EQ(first_difference(config_digest(kItems), config_digest(other)), 2);
  other[1].name = "Build";
  EXPECT_EQ(first_difference(config_digest(kItems), config_digest(other)), 1);
  other = kItems;
  other.pop_back();
  EXPECT_EQ(first_difference(config_digest(kItems), config_digest(other)), 2);
  EXPECT_EQ(first_difference(config_digest(other), config_digest(kItems)), 2);
}

TEST(ConfigCheck, MessageNamesTheItemTheRankAndBothValues) {
  EXPECT_EQ(difference_message(kItems, 0, 3, true, {"flags", "--lr 0.2 --shards 4"}, 3),
            "ranks disagree on 'flags': '--lr 0.1 --shards 4' on rank 0, '--lr 0.2 --shards 4' on rank 3");
  EXPECT_EQ(difference_message(kItems, 1, 2, true, {"data order", "x"}, 3),
            "ranks disagree on the configuration: item 1 is 'build' on rank 0 but 'data order' on rank 2");
  EXPECT_EQ(difference_message(kItems, 3, 1, false, {}, 4),
            "ranks disagree on the configuration: rank 0 gives 3 items, rank 1 gives 4");
}

TEST(ConfigCheck, QuotedValuesAreEscapedAndCut) {
  EXPECT_EQ(quote("a'b\n\xff"), "'a\\x27b\\x0a\\xff'");
  EXPECT_EQ(quote(std::string(300, 'x'), 5), "'xxxxx'...");
}

TEST(ConfigCheck, OneRankChecksOnlyTheCount) {
  World world;
  EXPECT_NO_THROW(check_same_config(world, kItems));
  const std::vector<ConfigItem> many(kMaxConfigItems + 1, ConfigItem{"x", "y"});
  EXPECT_ERROR_CONTAINING(check_same_config(world, many), "63 configuration items, at most 62");
}

}  // namespace
}  // namespace rnnwave::dist::detail
