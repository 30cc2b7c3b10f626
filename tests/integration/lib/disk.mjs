// A full disk, for real: the audit log's disk-full tests (and bench/soak)
// fill a small tmpfs until the kernel says ENOSPC, then free it again.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { tempDir } from './bastion.mjs';

// Mounts a tmpfs of `size` (mount's -o size=, e.g. '1m') on a new temporary
// directory. Returns its path, or { skip: reason } when it cannot (not root,
// no mount permission in this container); unmount with execFileSync('umount', ['-l', mnt]).
export function mountTmpfs(size, prefix = 'bastion-tmpfs-') {
  if (process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root' };
  const mnt = tempDir(prefix);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mnt]);
  } catch (e) {
    return { skip: `cannot mount a tmpfs here: ${e.message}` };
  }
  return mnt;
}

// Writes `file` until its filesystem has no byte left: big chunks first,
// then smaller ones down to single bytes, so nothing is left over. Removing
// `file` gives the space back.
export function fillFilesystem(file, sizes = [1 << 20, 65536, 4096, 512, 1]) {
  const fd = openSync(file, 'w');
  try {
    for (const size of sizes) {
      const buf = Buffer.alloc(size, 120);
      for (;;) {
        try { writeSync(fd, buf); } catch { break; }
      }
    }
  } finally {
    closeSync(fd);
  }
}
