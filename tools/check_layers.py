#!/usr/bin/env python3
"""Checks that includes run one way: front ends -> runtime -> model ->
ops/weights/parallel -> vk -> core, with io and text beside them on core only.

Each room lists the rooms its files may include; an include of any other
project header fails with the file, the line and the rule it breaks.
`--self-test` plants a bad include in a scratch tree and checks it is caught.
"""
import os
import re
import sys
import tempfile

# Room -> rooms it may include (itself always allowed). A room is a folder
# prefix; the longest matching prefix names a file's room.
ALLOWED = {
    "engine/core": [],
    "engine/vk": ["engine/core", "shaders"],
    "engine/io": ["engine/core"],
    "engine/text": ["engine/core"],
    "engine/parallel": ["engine/core", "engine/vk"],
    "engine/weights": ["engine/core", "engine/vk", "engine/io"],
    "engine/ops": ["engine/core", "engine/vk", "engine/weights", "shaders"],
    "engine/model": ["engine/core", "engine/vk", "engine/io", "engine/weights", "engine/ops",
                     "engine/parallel"],
    "engine/runtime": ["engine/core", "engine/vk", "engine/io", "engine/text", "engine/weights",
                       "engine/ops", "engine/parallel", "engine/model"],
    "partition": ["engine"],
    "cli": ["engine", "partition", "server"],  # serve.cpp starts the server
    "server": ["engine", "partition"],
    "python": ["engine", "partition"],
}
# Headers generated at build time and the shader parameter structs belong
# to the rooms that may include "shaders".
GENERATED = {"shader_id.h": "shaders"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE = (".h", ".hpp", ".cpp", ".cc")


def room_of(path):
    best = None
    for room in ALLOWED:
        if (path == room or path.startswith(room + "/")) and (best is None or len(room) > len(best)):
            best = room
    return best


def target_room(include):
    if include in GENERATED:
        return GENERATED[include]
    top = include.split("/")[0]
    if top == "shaders":
        return "shaders"
    if top == "engine":
        parts = include.split("/")
        return "/".join(parts[:2]) if len(parts) > 2 else "engine"
    if top in ALLOWED:
        return top
    return None  # not a project header (system, third party, same-folder test helpers)


def allowed(src_room, dst_room):
    if dst_room == src_room:
        return True
    for rule in ALLOWED[src_room]:
        if dst_room == rule or dst_room.startswith(rule + "/"):
            return True
    return False


def check(root):
    problems = []
    for room in ALLOWED:
        base = os.path.join(root, room)
        if not os.path.isdir(base):
            continue
        for folder, _, files in os.walk(base):
            for name in sorted(files):
                if not name.endswith(SOURCE):
                    continue
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                src_room = room_of(rel)
                if src_room != room:
                    continue  # a deeper room walks it
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        dst = target_room(m.group(1))
                        if dst is None or allowed(src_room, dst):
                            continue
                        problems.append(f"{rel}:{number}: includes \"{m.group(1)}\" ({dst}), but "
                                        f"{src_room} may include only "
                                        f"{', '.join(ALLOWED[src_room]) or 'itself'}")
    # Every engine folder must be a known room, so a new one gets a rule.
    engine = os.path.join(root, "engine")
    if os.path.isdir(engine):
        for name in sorted(os.listdir(engine)):
            if os.path.isdir(os.path.join(engine, name)) and f"engine/{name}" not in ALLOWED:
                problems.append(f"engine/{name}/: a folder with no layering rule; add it to "
                                f"tools/check_layers.py")
        for name in sorted(os.listdir(engine)):
            if name.endswith(SOURCE):
                problems.append(f"engine/{name}: a source file outside every room")
    return problems


def self_test():
    with tempfile.TemporaryDirectory() as root:
        def write(rel, text):
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        write("engine/core/error.h", "#pragma once\n")
        write("engine/model/config.h", '#include "engine/core/error.h"\n')
        write("engine/runtime/engine.h", '#include "engine/model/config.h"\n')
        if check(root):
            return "a clean tree was reported: " + "; ".join(check(root))
        cases = [("engine/io/bad.cpp", '#include "engine/model/config.h"\n'),
                 ("engine/model/bad.h", '#include "engine/runtime/engine.h"\n'),
                 ("engine/ops/bad.cpp", '#include "partition/ranks.h"\n'),
                 ("engine/text/bad.cpp", '#include "cli/options.h"\n'),
                 ("engine/vk/bad.cpp", '  #  include "engine/ops/matmul.h"\n')]
        for rel, text in cases:
            write(rel, text)
            found = check(root)
            os.remove(os.path.join(root, rel))
            if len(found) != 1 or not found[0].startswith(rel):
                return f"{rel} with {text.strip()!r} was not reported once: {found}"
    return None


def main():
    if "--self-test" in sys.argv:
        error = self_test()
        if error:
            print("check_layers self-test failed:", error)
            return 1
        print("check_layers self-test: every planted upward include was caught")
        return 0
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) run back up the layers")
        return 1
    print("layers: every include runs downward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
