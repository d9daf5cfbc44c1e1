// rnnwave/rnnwave.h — the whole public API.
#pragma once

#include "rnnwave/cell.h"
#include "rnnwave/dropout.h"
#include "rnnwave/error.h"
#include "rnnwave/finite.h"
#include "rnnwave/huge_pages.h"
#include "rnnwave/model.h"
#include "rnnwave/npy.h"
#include "rnnwave/planner.h"
#include "rnnwave/random.h"
#include "rnnwave/rnn.h"
#include "rnnwave/schedule.h"
#include "rnnwave/tensor.h"
#include "rnnwave/trace.h"
#include "rnnwave/weights.h"
