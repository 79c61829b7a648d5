# Warnings for every target of the tree; errors unless INSTAR_WERROR is off.
set(INSTAR_WARNINGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wcast-align -Wformat=2
    -Wimplicit-fallthrough -Wmissing-declarations)
if(INSTAR_WERROR)
  list(APPEND INSTAR_WARNINGS -Werror)
endif()
add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${INSTAR_WARNINGS}>")
