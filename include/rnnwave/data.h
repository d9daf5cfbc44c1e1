// rnnwave/data.h — the data sets: spoken digits (FSDD), WikiText-2, the adding problem,
// and the per-epoch order of examples. Real data is read from a directory given by the
// caller; nothing is downloaded.
#pragma once

#include "rnnwave/data_adding.h"
#include "rnnwave/data_audio.h"
#include "rnnwave/data_bptt.h"
#include "rnnwave/data_fsdd.h"
#include "rnnwave/data_shuffle.h"
#include "rnnwave/data_wikitext.h"
#include "rnnwave/random.h"
