# cmake -DIMAGE=<file> -DMAX_BYTES=<n> -P check_image_size.cmake
# Prints the flat image's size and fails the build when it exceeds the cap.
file(SIZE "${IMAGE}" size)
math(EXPR kib "(${size} + 1023) / 1024")
math(EXPR cap_kib "${MAX_BYTES} / 1024")
get_filename_component(name "${IMAGE}" NAME)
if(size GREATER MAX_BYTES)
  file(REMOVE "${IMAGE}")
  message(FATAL_ERROR "${name}: ${size} bytes (${kib} KiB), above the cap of ${cap_kib} KiB")
endif()
message("${name}: ${size} bytes (${kib} KiB of ${cap_kib} KiB)")
