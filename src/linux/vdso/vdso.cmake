# The guest's vDSO: vdso.c built for the guest as a relocation-free shared object (vdso.lds),
# then embedded into Vireo as a byte array (vdso_image.cpp, generated) that
# vdso_mapping.cpp maps into every guest. Included from the top-level CMakeLists.txt, which
# adds ${VIREO_VDSO_IMAGE_SOURCE} to vireo_core.
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/vdso)
set(vdso_so ${CMAKE_BINARY_DIR}/vdso/vireo-vdso.so)
set(VIREO_VDSO_IMAGE_SOURCE ${CMAKE_BINARY_DIR}/vdso/vdso_image.cpp)
add_custom_command(
  OUTPUT ${vdso_so}
  COMMAND ${CMAKE_C_COMPILER} -O2 -fPIC -fno-stack-protector -fcf-protection=none -ffreestanding
          -nostdlib -shared -Wl,-T,${CMAKE_CURRENT_LIST_DIR}/vdso.lds -Wl,--hash-style=both
          -Wl,-soname=linux-vdso.so.1 -Wl,--no-undefined -Wl,-z,noexecstack -Wl,--eh-frame-hdr
          -Wl,--build-id=none -o ${vdso_so} ${CMAKE_CURRENT_LIST_DIR}/vdso.c
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/vdso.c ${CMAKE_CURRENT_LIST_DIR}/vdso.lds ${CMAKE_CURRENT_LIST_DIR}/vdso_data.h
  COMMENT "Building the guest vDSO"
  VERBATIM)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/vdso/vdso_image.cpp
  COMMAND ${CMAKE_COMMAND} -DINPUT=${vdso_so} -DOUTPUT=${CMAKE_BINARY_DIR}/vdso/vdso_image.cpp
          -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${vdso_so} ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  COMMENT "Embedding the guest vDSO"
  VERBATIM)
