# Embeds the live view's files (src/soak/web) into soak as C arrays: webassets.c in the build
# folder, declared by src/soak/web/webassets.h. Included by the root CMakeLists.txt after
# soakcore exists; the arrays are rebuilt whenever a file here changes.
# Run as a script (cmake -P embed.cmake -DOUT=... -DIN="a;b" -DNAMES="x;y") it writes the C file.
if(CMAKE_SCRIPT_MODE_FILE)
  set(c "/* generated from src/soak/web by embed.cmake: do not edit */\n#include <stddef.h>\n")
  list(LENGTH IN n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    list(GET IN ${i} f)
    list(GET NAMES ${i} name)
    file(READ "${f}" hex HEX)
    string(LENGTH "${hex}" hl)
    math(EXPR len "${hl} / 2")
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
    string(REGEX REPLACE "((0x..,){24})" "\\1\n" hex "${hex}")
    string(APPEND c "const char ${name}[] = {\n${hex}0x00};\nconst size_t ${name}_len = ${len};\n")
  endforeach()
  file(WRITE "${OUT}.tmp" "${c}")
  file(RENAME "${OUT}.tmp" "${OUT}")
  return()
endif()

set(WEB_DIR ${CMAKE_SOURCE_DIR}/src/soak/web)
set(WEB_FILES ${WEB_DIR}/live.html)
set(WEB_NAMES webassets_live_html)
set(WEB_OUT ${CMAKE_BINARY_DIR}/gen/webassets.c)
add_custom_command(
  OUTPUT ${WEB_OUT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/gen
  COMMAND ${CMAKE_COMMAND} "-DOUT=${WEB_OUT}" "-DIN=${WEB_FILES}" "-DNAMES=${WEB_NAMES}"
          -P ${WEB_DIR}/embed.cmake
  DEPENDS ${WEB_FILES} ${WEB_DIR}/embed.cmake
  COMMENT "embedding src/soak/web into soak"
  VERBATIM)
target_sources(soakcore PRIVATE ${WEB_OUT})
