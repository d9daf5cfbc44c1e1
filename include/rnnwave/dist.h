// rnnwave/dist.h — the distributed layer: runs over MPI, results that do not depend on the
// number of ranks. See docs/distributed.md.
#pragma once

#include "rnnwave/dist/config_check.h"
#include "rnnwave/dist/launcher.h"
#include "rnnwave/dist/layer_range.h"
#include "rnnwave/dist/pipe_channel.h"
#include "rnnwave/dist/pipeline.h"
#include "rnnwave/dist/run.h"
#include "rnnwave/dist/shard_reducer.h"
#include "rnnwave/dist/shard_tree.h"
#include "rnnwave/dist/world.h"
