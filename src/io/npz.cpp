#include "rnnwave/npy.h"
