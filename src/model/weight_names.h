// Checking a file's parameter names and shapes against a model before reading any values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rnnwave/model.h"

namespace rnnwave {

/// Throws Error unless the keys of `named` are exactly the parameters of `spec`
/// (parameter_list), with their shapes; a wrong number of rows names the cell kinds it
/// would fit. Builds no more parameter names than there are entries in `named` (plus
/// one), so a model of absurd size given a small file fails at once. Names from the file
/// are quoted escaped and shortened. Used by Weights::from_tensors and, before inflating
/// anything, by load_weights (src/io/weights_npz.cpp).
void check_names_and_shapes(const ModelSpec& spec,
                            const std::map<std::string, std::vector<int64_t>>& named);

}  // namespace rnnwave
