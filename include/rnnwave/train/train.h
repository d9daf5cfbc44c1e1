// rnnwave/train/train.h — the layers around a recurrent stack, losses and optimizers.
#pragma once

#include "rnnwave/random.h"
#include "rnnwave/train/clip.h"
#include "rnnwave/train/dropout.h"
#include "rnnwave/train/embedding.h"
#include "rnnwave/train/linear.h"
#include "rnnwave/train/loss.h"
#include "rnnwave/train/lr_schedule.h"
#include "rnnwave/train/optimizer.h"
#include "rnnwave/train/params.h"
#include "rnnwave/train/sequence_pool.h"
