// rnnwave/schedule.h — how the cells of a stack are executed.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace rnnwave {

class Trace;

/// The order in which the (layer, direction, step) cells run. Every schedule computes
/// the same function, to the bit, at every thread count; they differ in speed only.
///   sequential: one thread, layer by layer, step by step.
///   layerwise:  what the frameworks do: layer by layer and step by step, each step's
///               rows and each layer's weight-gradient chains spread over the threads.
///   wavefront:  every cell is a task of a dataflow graph (W-Par / B-Par). At two
///               threads from 8 rows, the backward pass of a single layer, or of a stack
///               the plan runs in two halves, runs in lock step instead, as layerwise
///               does (measured faster on most such shapes: docs/benchmarks.md), unless a
///               pipeline stage's hooks (BackwardArgs::on_grad_output_block,
///               on_grad_input_block) are set.
enum class Schedule { sequential, layerwise, wavefront };

inline constexpr int kScheduleCount = 3;
inline constexpr std::array<Schedule, kScheduleCount> kAllSchedules = {
    Schedule::sequential, Schedule::layerwise, Schedule::wavefront};

std::string_view to_string(Schedule schedule);

/// Inverse of to_string; throws Error listing the valid names.
Schedule parse_schedule(std::string_view name);

/// The arithmetic of the products of an inference pass.
///   fp32: every value in fp32 (the default; the only one for training).
///   bf16: the weights of every product (W_ih, W_hh, and W_hr of a projection) and the
///         inputs of every product (x and h of each step) are rounded to bf16, round to
///         nearest even: 8 significant bits, relative error at most 2^-9 per value. Each
///         product accumulates in fp32; biases, states (h, c), pointwise math and outputs
///         stay fp32. Forward (inference) only: a training forward or a backward pass is
///         refused. Needs a CPU with AVX512-BF16; elsewhere the pass is
///         refused with an Error naming it, never emulated. As in fp32, the result does
///         not depend on the schedule, thread count or how the batch is split.
enum class Precision { fp32, bf16 };

inline constexpr int kPrecisionCount = 2;
inline constexpr std::array<Precision, kPrecisionCount> kAllPrecisions = {Precision::fp32,
                                                                          Precision::bf16};

std::string_view to_string(Precision precision);

/// Inverse of to_string; throws Error listing the valid names.
Precision parse_precision(std::string_view name);

/// Execution settings of a forward or backward pass.
struct ExecOptions {
  Schedule schedule = Schedule::wavefront;
  /// Worker threads; 0 means one per available core.
  int threads = 0;
  /// Steps per input-projection and input-gradient task of the wavefront schedule (a
  /// bidirectional whole-sequence block below 8 rows takes its input gradients in a
  /// share per thread, unless on_grad_input_block is set); 0 lets the engine choose for
  /// the problem and thread count.
  int64_t step_block = 0;
  /// Independent sub-batches of the wavefront schedule (at most N are used); 0 lets the
  /// engine choose.
  int64_t batch_splits = 0;
  /// Parts each step is split into by hidden units (of at least 16 units each); 0 lets the
  /// engine choose. Cells whose step has two dependent products (gru_rb, the LSTM with a
  /// projection) always run in one part: a part would need every unit of the other parts
  /// in the middle of the step.
  int64_t hidden_splits = 0;
  /// If set, every task of every pass is recorded there (see trace.h).
  Trace* trace = nullptr;
  /// The arithmetic of inference passes (see Precision); BasicRnn<float> only.
  Precision precision = Precision::fp32;
  /// Keep one packed copy of each weight instead of two: a backward pass turns the
  /// weights into the form its products read (a transposed packing), in the memory of one
  /// copy and a spare buffer, and the next forward pass turns them back. Training then
  /// holds a copy of the weights less (10-29% less memory at batch 1 on the benchmark
  /// grid's shapes), at the cost of one transposition of every weight per change of
  /// form: nothing extra when the weights change between steps (set_weights packs them
  /// anyway), two per step when they do not (forward and backward over unchanged weights,
  /// as in gradient accumulation). A pass that needs the other form waits for the passes
  /// of the same model in flight.
  bool single_weight_copy = false;
};

}  // namespace rnnwave
