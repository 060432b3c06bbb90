// Runs before `npm start`, `npm test` and `npm run bench` (npm's pre-scripts), on whatever Node the
// machine has (it may be older than the Node 24 the project runs on, which this very step installs).
// 1. npm dependencies: installs them when node_modules is missing or older than package-lock.json.
// 2. System programs the purpose needs (Debian packages): installs them with apt-get when running as
//    root, otherwise stops and says exactly what to install.
// Plain JavaScript on purpose: it has to run before the TypeScript toolchain exists.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv[2] ?? 'start';

/** Debian package per program, and which purposes need it. */
const programs = [
  { bin: 'redis-server', pkg: 'redis-server', for: ['start', 'test'], unlessEnv: 'VMOPS_REDIS_URL' },
  // The demo recipe and the cernvm appliance make real disk images.
  { bin: 'qemu-img', pkg: 'qemu-utils', for: ['start', 'test'] },
  // The cernvm appliance: packages collected with mmdebstrap, a self-booting disk (syslinux, FAT, MBR)
  // written without loop devices, a NoCloud seed ISO, boot tests under QEMU.
  { bin: 'mmdebstrap', pkg: 'mmdebstrap', for: ['start', 'test'] },
  { bin: 'qemu-system-x86_64', pkg: 'qemu-system-x86', for: ['start', 'test'] },
  { bin: 'syslinux', pkg: 'syslinux', for: ['start', 'test'] },
  { file: '/usr/lib/syslinux/mbr/mbr.bin', pkg: 'syslinux-common', for: ['start', 'test'] },
  { bin: 'mcopy', pkg: 'mtools', for: ['start', 'test'] },
  { bin: 'mkfs.vfat', pkg: 'dosfstools', for: ['start', 'test'] },
  { bin: 'sfdisk', pkg: 'fdisk', for: ['start', 'test'] },
  { bin: 'genisoimage', pkg: 'genisoimage', for: ['start', 'test'] },
  { bin: 'cloud-localds', pkg: 'cloud-image-utils', for: ['start', 'test'] },
  { bin: 'mkfs.ext4', pkg: 'e2fsprogs', for: ['start', 'test'] },
  { bin: 'fakeroot', pkg: 'fakeroot', for: ['start', 'test'] },
  { bin: 'python3', pkg: 'python3', for: ['start', 'test'] },
  // SSH executor tests run a real OpenSSH server on loopback.
  { bin: 'sshd', pkg: 'openssh-server', for: ['test'] },
  { bin: 'ssh-keygen', pkg: 'openssh-client', for: ['test'] },
  // XMPP adapter tests run a real Prosody on loopback.
  { bin: 'prosody', pkg: 'prosody', for: ['test'] },
  // The web console's end-to-end tests drive Debian's Chromium.
  { bin: 'chromium', pkg: 'chromium', for: ['test'] },
  // Cloud driver tests run a real OpenStack Glance image API on loopback (sqlite, file store, no
  // Keystone). Installing it upgrades a few host packages and runs on /usr/bin/python3. The EC2
  // tests use moto_server (pip's moto[server]; not a Debian package, so only checked, never installed).
  { bin: 'glance-api', pkg: 'glance-api', for: ['test'] },
  { bin: 'glance-manage', pkg: 'glance-common', for: ['test'] },
];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  return r.status === 0;
}

function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.vmops-lock-hash');
  const want = existsSync(lock) ? createHash('sha256').update(readFileSync(lock)).digest('hex') : 'no-lock';
  const have = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
  if (have === want && existsSync(join(root, 'node_modules', '.bin', 'node'))) return;
  console.error('vmops: installing npm dependencies (first run or package-lock.json changed)…');
  const ok = run('npm', [existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund']);
  if (!ok) {
    console.error('vmops: npm could not install the dependencies; see the messages above.');
    process.exit(1);
  }
  writeFileSync(stamp, `${want}\n`);
}

function onPath(bin) {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  return dirs.some((d) => d && existsSync(join(d, bin)));
}

function ensurePrograms() {
  const present = (p) => (p.file ? existsSync(p.file) : onPath(p.bin));
  const missing = programs.filter(
    (p) => p.for.includes(purpose) && !(p.unlessEnv && process.env[p.unlessEnv]) && !present(p),
  );
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((p) => p.pkg))];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && onPath('apt-get')) {
    console.error(`vmops: installing Debian packages: ${pkgs.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const ok =
      run('apt-get', ['update', '-q'], { env }) &&
      run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env });
    if (ok && missing.every(present)) return;
  }
  console.error(
    `vmops: ${purpose} needs ${missing.map((p) => p.bin ?? p.file).join(', ')}, which is not installed.\n` +
      `Install it with:  sudo apt-get install ${pkgs.join(' ')}`,
  );
  process.exit(1);
}

ensureNodeModules();
ensurePrograms();
