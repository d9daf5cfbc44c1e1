// The data folder beside the source tree, for default_data_dir() in the programs of the
// build tree only (see data_dir.cpp and src/train/CMakeLists.txt); never part of a library.
extern "C" const char* rnnwave_source_tree_data_dir() { return RNNWAVE_SOURCE_TREE_DATA_DIR; }
