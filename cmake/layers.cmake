# The library's layers (docs/design.md §1, "The libraries"): each a static library that
# sees, besides the public headers, only its own folders of src/ and those of the layers it
# builds on.
#
#   rnnwave_engine  src/common cells kernels graph model   the Rnn and Weights API; OpenMP, oneDNN
#   rnnwave_io      + src/io                               .npy/.npz, weights files, traces; libzip
#   rnnwave_data    + src/data                             data sets; libsndfile, FFTW
#   rnnwave_dist    engine + src/dist                      runs over MPI; the only one with MPI
#   rnnwave_train   all of the above + src/train           layers, losses, optimizers, the Trainer
#   rnnwave_plot    io + src/plot                          PNG line charts; the only one with libgd
#   rnnwave_run     train, plot + src/run                  a run directory: metrics, curves, progress
#
# A layer's private include directory is a folder of links made here, one per src/ folder
# it may use, so that an include of a higher layer's header ("train/trainer.h" from
# src/graph) is a compile error, not a convention. tests/layers/include_rule_test.py checks
# the same rule, public headers included, from the sources.

# rnnwave_include_root(<target> <folder>...): gives <target> a private include directory
# that holds links to exactly these folders of the project ("src/graph" is then included as
# "graph/...", "tools" as "tools/...").
function(rnnwave_include_root target)
  set(root ${PROJECT_BINARY_DIR}/include_roots/${target})
  file(MAKE_DIRECTORY ${root})
  foreach(folder IN LISTS ARGN)
    cmake_path(GET folder FILENAME link)
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${folder} ${root}/${link} SYMBOLIC)
  endforeach()
  target_include_directories(${target} PRIVATE ${root})
endfunction()

# rnnwave_add_layer(<name> FOLDERS <src/ folders it may include>): a static library with the
# public headers, position-independent (the Python module, a shared object, links it), and
# without semantic interposition, so that calls inside the library are inlined and bound
# locally exactly as in a non-PIC build.
function(rnnwave_add_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "FOLDERS")
  add_library(${name} STATIC)
  add_library(rnnwave::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${name} PUBLIC cxx_std_20)  # the public headers use std::span
  list(TRANSFORM arg_FOLDERS PREPEND src/)
  rnnwave_include_root(${name} ${arg_FOLDERS})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${name} PRIVATE -fno-semantic-interposition)
endfunction()
