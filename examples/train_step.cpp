// A first look at the C++ API: describe a two-layer bidirectional LSTM, create (or load)
// its weights, run a forward pass on a variable-length batch, then backpropagate a loss
// through time and take one plain gradient-descent step.
//
//   build/examples/example_train_step [weights.npz]
#include <cstdio>
#include <vector>

#include "rnnwave/rnnwave.h"

int main(int argc, char** argv) {
  using namespace rnnwave;
  try {
    // L = 2 layers, D = 2 directions, I = 8 inputs, H = 16 hidden units per direction.
    const ModelSpec spec{CellKind::lstm, /*input_size=*/8, /*hidden_size=*/16, /*layers=*/2,
                         /*bidirectional=*/true};
    // PyTorch's initialisation, or a state_dict saved with np.savez.
    Weights weights = argc > 1 ? load_weights(argv[1], spec) : Weights::uniform(spec, 42);
    Rnn rnn(weights, ExecOptions{Schedule::wavefront, /*threads=*/0});

    // A batch of N = 3 sequences of at most T = 5 steps; their lengths in any order.
    const int64_t T = 5, N = 3, I = spec.input_size, H = spec.hidden_size;
    const int64_t D = spec.directions(), L = spec.layers;
    std::vector<float> input(T * N * I);  // [T, N, I], N(0, 1) from rnnwave's generator
    for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(counter_normal(1, i));
    const std::vector<int64_t> lengths{5, 2, 4};

    // Outputs in caller-owned buffers: [T, N, D*H] and [L*D, N, H].
    std::vector<float> output(T * N * D * H), hn(L * D * N * H), cn(L * D * N * H);
    ForwardArgs<float> args;
    args.steps = T;
    args.batch = N;
    args.input = input;
    args.lengths = lengths;
    args.output = output;
    args.hn = hn;
    args.cn = cn;

    // Training: the workspace keeps what the backward pass needs.
    Workspace workspace;
    rnn.forward(args, workspace);

    // Loss = 0.5 * sum(output^2): its gradient with respect to the output is the output.
    double loss = 0;
    for (float y : output) loss += 0.5 * y * y;
    Weights grads(spec);
    std::vector<float> grad_input(input.size());
    BackwardArgs<float> back;
    back.grad_output = output;
    back.grad_input = grad_input;
    back.grad_weights = &grads;
    rnn.backward(back, workspace);

    // One step of gradient descent on every parameter, then the model uses the new weights.
    for (size_t i = 0; i < weights.flat().size(); ++i) weights.flat()[i] -= 0.1f * grads.flat()[i];
    rnn.set_weights(weights);
    rnn.forward(args);
    double new_loss = 0;
    for (float y : output) new_loss += 0.5 * y * y;

    std::printf("%s, T=%lld N=%lld: loss %.6f -> %.6f after one step\n", describe(spec).c_str(),
                static_cast<long long>(T), static_cast<long long>(N), loss, new_loss);
    std::printf("gradient of weight_hh_l1_reverse[0] = %.6g\n", grads.get("weight_hh_l1_reverse")[0]);
    return new_loss < loss ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
