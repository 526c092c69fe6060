"""A small terminal emulator for the progress e2e test (tests/e2e/progress.sh).

Reads what a program wrote to a pseudo-terminal (as `script` records it) and replays it on a
screen of WIDTH columns and ROWS rows: printable characters (auto-wrap at the last column),
CR, LF, ESC[nA (cursor up, stopping at the screen's top), ESC[J and ESC[K (erase below / to the
end of the line). Other escape sequences are dropped. Prints a JSON object:
  screen: every line that was ever on the screen and is still there at the end (scrollback
          included), trailing spaces removed;
  frames: the lines each cursor-up went back over, i.e. every progress frame as it was shown.
Usage: term_screen.py WIDTH ROWS < TYPESCRIPT
"""
import json
import re
import sys


def main():
    width, rows = int(sys.argv[1]), int(sys.argv[2])
    data = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    lines = [[]]
    row = col = 0
    frames = []
    i = 0
    while i < len(data):
        c = data[i]
        if c == "\x1b":
            m = re.match(r"\x1b\[([0-9;?]*)([A-Za-z])", data[i:])
            if not m:
                i += 1
                continue
            arg, cmd = m.group(1), m.group(2)
            i += m.end()
            if cmd == "A":
                n = int(arg or "1")
                top = max(0, len(lines) - rows)
                new_row = max(top, row - n)
                frames.append(["".join(l).rstrip() for l in lines[new_row:row]])
                row = new_row
            elif cmd == "J":
                del lines[row][col:]
                del lines[row + 1:]
            elif cmd == "K":
                del lines[row][col:]
            continue
        i += 1
        if c == "\r":
            col = 0
        elif c == "\n":
            row += 1
            if row == len(lines):
                lines.append([])
        elif c >= " ":
            if col >= width:  # auto-wrap
                row += 1
                col = 0
                if row == len(lines):
                    lines.append([])
            line = lines[row]
            while len(line) < col:
                line.append(" ")
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
    screen = ["".join(l).rstrip() for l in lines]
    while screen and not screen[-1]:
        screen.pop()
    json.dump({"screen": screen, "frames": frames}, sys.stdout)


if __name__ == "__main__":
    main()
