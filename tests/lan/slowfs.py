#!/usr/bin/python3
"""slowfs: a FUSE passthrough filesystem whose writes (and, if asked, reads)
go no faster than a given rate, to play a slow disk (a USB disk, an SD card)
in the LAN tests and the memory benchmark.

    slowfs.py ROOT MOUNTPOINT [--write-rate BYTES_PER_S] [--read-rate BYTES_PER_S]
              [--max-seconds S]

Every file operation goes to the same path under ROOT. A write (or a read)
of n bytes is let through when the rate's budget allows, one byte stream
for the whole filesystem, like one disk head: the caller's write() waits,
as it would on the real thing. Runs in the foreground until unmounted
(umount MOUNTPOINT) or killed; --max-seconds unmounts by itself, so a test
that dies cannot leave it behind for long. Debian: fuse3, python3-fusepy.
"""
import argparse
import errno
import os
import subprocess
import threading
import time

from fusepy import FUSE, FuseOSError, Operations


class Throttle:
    """One token bucket shared by every thread: each transfer of n bytes
    takes the next n/rate seconds of the device's time."""

    def __init__(self, rate):
        self.rate = float(rate)
        self.lock = threading.Lock()
        self.next = time.monotonic()

    def take(self, n):
        if self.rate <= 0:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + n / self.rate
            wait = self.next - now
        if wait > 0:
            time.sleep(wait)


class SlowFS(Operations):
    def __init__(self, root, write_rate, read_rate):
        self.root = os.path.realpath(root)
        self.wr = Throttle(write_rate)
        self.rd = Throttle(read_rate)

    def _p(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def __call__(self, op, *args):
        try:
            return super().__call__(op, *args)
        except OSError as e:
            raise FuseOSError(e.errno or errno.EIO)

    # metadata
    def getattr(self, path, fh=None):
        st = os.fstat(fh) if fh is not None else os.lstat(self._p(path))
        return {k: getattr(st, k) for k in ('st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_size',
                                            'st_atime', 'st_mtime', 'st_ctime', 'st_ino', 'st_dev')}

    def access(self, path, mode):
        if not os.access(self._p(path), mode):
            raise FuseOSError(errno.EACCES)

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self._p(path))

    def readlink(self, path):
        return os.readlink(self._p(path))

    def statfs(self, path):
        v = os.statvfs(self._p(path))
        return {k: getattr(v, k) for k in ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail',
                                           'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')}

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.lchown(self._p(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._p(path), times, follow_symlinks=False)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._p(path), length)

    # names
    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def unlink(self, path):
        os.unlink(self._p(path))

    def rename(self, old, new):
        # libfuse 2 has no RENAME_NOREPLACE: the store falls back to
        # link + unlink, which never replaces either.
        os.rename(self._p(old), self._p(new))

    def link(self, target, source):
        os.link(self._p(source), self._p(target))

    def symlink(self, target, source):
        os.symlink(source, self._p(target))

    # data
    def open(self, path, flags):
        return os.open(self._p(path), flags)

    def create(self, path, mode, fi=None):
        # fusepy does not pass the caller's flags here; read-write serves
        # any of them (the kernel already checked O_EXCL by a lookup).
        return os.open(self._p(path), os.O_RDWR | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, size, offset, fh):
        data = os.pread(fh, size, offset)
        self.rd.take(len(data))
        return data

    def write(self, path, data, offset, fh):
        self.wr.take(len(data))
        return os.pwrite(fh, data, offset)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)

    def fsync(self, path, datasync, fh):
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)

    def fsyncdir(self, path, datasync, fh):
        return 0


def main():
    ap = argparse.ArgumentParser(description='a FUSE passthrough that throttles writes and reads')
    ap.add_argument('root')
    ap.add_argument('mountpoint')
    ap.add_argument('--write-rate', type=float, default=0, help='bytes per second (0: unthrottled)')
    ap.add_argument('--read-rate', type=float, default=0, help='bytes per second (0: unthrottled)')
    ap.add_argument('--max-seconds', type=float, default=0, help='unmount after this long (0: never)')
    a = ap.parse_args()
    if a.max_seconds > 0:
        def expire():
            subprocess.run(['umount', '-l', a.mountpoint], check=False)
        t = threading.Timer(a.max_seconds, expire)
        t.daemon = True
        t.start()
    FUSE(SlowFS(a.root, a.write_rate, a.read_rate), a.mountpoint, foreground=True, nothreads=False,
         big_writes=True, max_write=131072, fsname='slowfs')


if __name__ == '__main__':
    main()
