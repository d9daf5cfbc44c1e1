// Every cell definition of the table is one the engine can run: the checks the engine
// relies on but does not make at run time.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "cells/cell_table.h"
#include "support/problem.h"
#include "rnnwave/error.h"

namespace rnnwave::cells {
namespace {

// Sizes that differ from each other, so that a shape written with the wrong symbol shows.
constexpr Dims kDims{48, 24, 13};

class CellTable : public ::testing::TestWithParam<const CellDef*> {};

TEST_P(CellTable, DeclaresWhatTheEngineNeeds) {
  const CellDef& cell = *GetParam();
  ASSERT_GE(cell.states.size(), 1u);
  ASSERT_LE(cell.states.size(), size_t{kMaxStates});
  EXPECT_EQ(cell.states[0].width.coef, 1);
  EXPECT_EQ(cell.states[0].width.size, Size::output) << "state 0 is h, the layer's output";
  ASSERT_LE(cell.buffers.size(), size_t{kMaxBuffers});
  ASSERT_LE(cell.vectors.size(), size_t{kMaxVectors});
  ASSERT_GE(cell.stages.size(), 1u);
  ASSERT_LE(cell.stages.size(), size_t{kMaxStages});
  EXPECT_EQ(cell.params[kWeightIh].rows.of(kDims), cell.gates * kDims.hidden);
  EXPECT_EQ(cell.params[kWeightIh].cols.of(kDims), kDims.input);
  bool any_math = false;
  for (size_t s = 0; s < cell.stages.size(); ++s) {
    any_math = any_math || cell.math<float>(s).forward != nullptr;
    EXPECT_EQ(cell.math<float>(s).forward == nullptr, cell.math<double>(s).forward == nullptr);
    EXPECT_EQ(cell.math<float>(s).backward == nullptr, cell.math<double>(s).backward == nullptr);
  }
  EXPECT_TRUE(any_math) << "no pointwise math at all";
  for (const VectorDecl& v : cell.vectors) {
    ASSERT_LT(size_t(v.param), cell.params.size());
    if (v.plus >= 0) {
      ASSERT_LT(size_t(v.plus), cell.params.size());
      EXPECT_EQ(cell.params[v.plus].rows.of(kDims), cell.params[v.param].rows.of(kDims));
    }
  }
}

/// Every element of every parameter but the input weight receives its gradient from
/// exactly one term (a product's dC^T A or a declared sum): nothing is left at zero, and
/// no two terms write the same element, so the terms can run as independent chains.
TEST_P(CellTable, EveryParameterElementHasExactlyOneGradientTerm) {
  const CellDef& cell = *GetParam();
  std::vector<std::vector<int>> covered(cell.params.size());
  for (size_t i = 0; i < cell.params.size(); ++i) {
    const ParamDecl& p = cell.params[i];
    covered[i].assign(static_cast<size_t>(p.rows.of(kDims) * (p.is_vector() ? 1 : p.cols.of(kDims))), 0);
  }
  std::fill(covered[kWeightIh].begin(), covered[kWeightIh].end(), 1);  // the engine's own term
  for (const StageDecl& stage : cell.stages) {
    for (const ProductDecl& product : stage.products) {
      ASSERT_LT(size_t(product.param), cell.params.size());
      const ParamDecl& p = cell.params[product.param];
      ASSERT_FALSE(p.is_vector()) << p.key << ": a product's weight is a matrix";
      const int64_t cols = p.cols.of(kDims), row0 = product.row0.of(kDims);
      ASSERT_LE(row0 + product.rows.of(kDims), p.rows.of(kDims)) << p.key;
      for (int64_t e = row0 * cols; e < (row0 + product.rows.of(kDims)) * cols; ++e) {
        ++covered[product.param][static_cast<size_t>(e)];
      }
    }
  }
  for (const SumDecl& sum : cell.sums) {
    ASSERT_LT(size_t(sum.param), cell.params.size());
    const int64_t offset = sum.offset.of(kDims), width = sum.width.of(kDims);
    ASSERT_LE(offset + width, int64_t(covered[sum.param].size())) << cell.params[sum.param].key;
    for (int64_t e = offset; e < offset + width; ++e) ++covered[sum.param][static_cast<size_t>(e)];
  }
  for (size_t i = 0; i < cell.params.size(); ++i) {
    for (size_t e = 0; e < covered[i].size(); ++e) {
      ASSERT_EQ(covered[i][e], 1) << cell.name << ": element " << e << " of " << cell.params[i].key;
    }
  }
}

/// The weight-gradient terms read a block of consecutive steps as one matrix: only
/// storage kept per step can be read that way, never a scratch buffer.
TEST_P(CellTable, GradientTermsReadStorageKeptPerStep) {
  const CellDef& cell = *GetParam();
  auto kept_per_step = [&](const Ref& ref) {
    if (ref.where == Where::none) return false;
    if (ref.where != Where::buffer) return true;
    return cell.buffers[ref.index].life == Life::step;
  };
  for (const StageDecl& stage : cell.stages) {
    for (const ProductDecl& product : stage.products) {
      EXPECT_TRUE(kept_per_step(product.grad_c)) << cell.name << " " << cell.params[product.param].key;
      EXPECT_TRUE(kept_per_step(product.a)) << cell.name << " " << cell.params[product.param].key;
      EXPECT_NE(product.c.where, Where::none);
      EXPECT_NE(product.grad_a.where, Where::none);
    }
  }
  for (const SumDecl& sum : cell.sums) {
    EXPECT_TRUE(kept_per_step(sum.grad_c)) << cell.name << " " << cell.params[sum.param].key;
    if (sum.kind == Sum::diagonal) {
      EXPECT_TRUE(kept_per_step(sum.a)) << cell.name;
    }
  }
}

/// A step split by hidden units computes, in each part, the same units of every gate:
/// only a cell whose products all read the previous h and write whole gates of H units,
/// and whose step buffers are whole gates, can be split so.
TEST_P(CellTable, CellsSplitByUnitsHaveUnitShapedProductsAndBuffers) {
  const CellDef& cell = *GetParam();
  if (!cell.splits_by_units()) {
    EXPECT_GT(cell.stages.size(), 1u);
    return;
  }
  for (const ProductDecl& product : cell.stages[0].products) {
    EXPECT_EQ(product.a.where, Where::state_prev);
    EXPECT_EQ(product.a.index, 0);
    EXPECT_EQ(product.rows.of(kDims), product.groups * kDims.hidden) << cell.name;
  }
  for (const BufferDecl& buffer : cell.buffers) {
    EXPECT_EQ(buffer.width.size, Size::hidden) << cell.name << " " << buffer.name;
  }
}

INSTANTIATE_TEST_SUITE_P(AllDefinitions, CellTable, ::testing::ValuesIn(all_cell_definitions()),
                         [](const auto& param_info) {
                           std::string name(param_info.param->name);
                           for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name + "_" + std::to_string(param_info.index);
                         });

/// The tests iterate testing::all_cell_variants(); it must name every definition of the
/// table, or a new one would go untested.
TEST(CellTable, TheTestedVariantsAreEveryDefinition) {
  std::set<const CellDef*> tested;
  for (const testing::CellVariant& v : testing::all_cell_variants()) {
    ModelSpec spec = testing::case_of(v).spec();
    tested.insert(&cell_definition(spec));
    spec.cell_clip = 1;  // the same with ONNX's cell clip (tests/model/cell_clip_test.cpp)
    tested.insert(&cell_definition(spec));
  }
  const std::vector<const CellDef*> all = all_cell_definitions();
  EXPECT_EQ(tested, std::set<const CellDef*>(all.begin(), all.end()));
}

TEST(CellTable, RefusesAVariantTheKindDoesNotHave) {
  ModelSpec spec{CellKind::rnn_tanh, 3, 4, 1, false};
  spec.peepholes = true;
  try {
    cell_definition(spec);
    FAIL() << "a vanilla RNN with peepholes was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("peepholes"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rnnwave::cells
