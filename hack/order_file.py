#!/usr/bin/env python3
"""Helpers of hack/gen-order-file.sh: function lists for lld's --symbol-ordering-file.

  order_file.py callgrind BINARY PROFILE...        functions of BINARY a callgrind profile ran
  order_file.py faults BINARY PERF_DATA ORDER      functions whose code faulted in outside ORDER
                                                    (perf's exceptions:page_fault_user, system-wide)
Both print one mangled name per line, in first-seen order."""
import bisect, re, subprocess, sys


def text_symbols(binary):
    out = subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split(maxsplit=2)
        if len(p) == 3 and p[1] in "tTwW":
            syms.append((int(p[0], 16), p[2]))
    return syms


def callgrind(binary, profiles):
    defined = {name for _, name in text_symbols(binary)}
    seen = {}
    for path in profiles:
        for line in open(path, errors="replace"):
            m = re.match(r"c?fn=\(\d+\) (.*)$", line.rstrip("\n"))
            if m and m.group(1) in defined:
                seen.setdefault(m.group(1), len(seen))
    return list(seen)


def faults(binary, perf_data, order_path):
    """Instruction fetches that faulted in BINARY's text, by any process running it."""
    listed = set(open(order_path).read().split())
    syms = text_symbols(binary)
    addrs = [a for a, _ in syms]
    loads = []
    for line in subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        p = line.split()
        if p and p[0] == "LOAD" and "E" in p[6:-1]:
            loads.append((int(p[1], 16), int(p[2], 16)))
    name = binary.rsplit("/", 1)[-1]
    events = subprocess.run(["perf", "script", "-i", perf_data, "--show-mmap-events", "-F", "pid,trace"],
                            capture_output=True, text=True).stdout
    text_maps = {}  # pid -> (start, length, file offset)
    found = {}
    for line in events.splitlines():
        m = re.search(r"PERF_RECORD_MMAP2 (\d+)/\d+: \[0x([0-9a-f]+)\(0x([0-9a-f]+)\) @ 0x([0-9a-f]+) .*r-xp (\S+)$", line)
        if m and m.group(5).endswith("/" + name):
            text_maps[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16))
            continue
        m = re.match(r"\s*(\d+)\s+(?:exceptions:page_fault_user: )?address=0x([0-9a-f]+) ip=0x[0-9a-f]+ error_code=0x([0-9a-f]+)", line)
        if not m or m.group(1) not in text_maps or not int(m.group(3), 16) & 0x10:
            continue
        start, length, offset = text_maps[m.group(1)]
        address = int(m.group(2), 16)
        if not start <= address < start + length:
            continue
        file_offset = address - start + offset
        vaddr = next((file_offset - o + v for o, v in loads if o <= file_offset), None)
        if vaddr is None:
            continue
        i = bisect.bisect_right(addrs, vaddr) - 1
        if i >= 0 and syms[i][1] not in listed:
            found.setdefault(syms[i][1], len(found))
    return list(found)


if __name__ == "__main__":
    if sys.argv[1] == "callgrind":
        names = callgrind(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "faults":
        names = faults(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
    print("\n".join(names))
