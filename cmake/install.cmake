# cmake --install: the layer libraries, the public headers, the tool, a CMake package
# (find_package(rnnwave), targets rnnwave::rnnwave_engine ... rnnwave_run, rnnwave::rnnwave) and a
# pkg-config file (rnnwave.pc). tests/install/install_test.py builds examples/ against them.
include(CMakePackageConfigHelpers)
set(RNNWAVE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rnnwave)

install(TARGETS rnnwave_engine rnnwave_io rnnwave_data rnnwave_dist rnnwave_train rnnwave_plot
                rnnwave_run rnnwave_core
        EXPORT rnnwaveTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/rnnwave DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS rnnwave_cli_installed RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(EXPORT rnnwaveTargets NAMESPACE rnnwave:: DESTINATION ${RNNWAVE_CMAKE_DIR})
configure_package_config_file(cmake/rnnwaveConfig.cmake.in ${PROJECT_BINARY_DIR}/rnnwaveConfig.cmake
                              INSTALL_DESTINATION ${RNNWAVE_CMAKE_DIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/rnnwaveConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/rnnwaveConfig.cmake ${PROJECT_BINARY_DIR}/rnnwaveConfigVersion.cmake
        DESTINATION ${RNNWAVE_CMAKE_DIR})

# rnnwave.pc, relocatable: the prefix is found from the file's own folder.
file(RELATIVE_PATH RNNWAVE_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" RNNWAVE_PC_TO_PREFIX ${RNNWAVE_PC_TO_PREFIX})
set(RNNWAVE_PC_MPI "")
if(RNNWAVE_MPI)
  list(JOIN MPI_CXX_LIBRARIES " " RNNWAVE_PC_MPI)
endif()
configure_file(cmake/rnnwave.pc.in ${PROJECT_BINARY_DIR}/rnnwave.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/rnnwave.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
