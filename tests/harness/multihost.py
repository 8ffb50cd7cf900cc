# SPDX-License-Identifier: GPL-3.0-or-later
"""Several database hosts on this one machine, reached over SSH like real servers.

Each host is a network namespace with its own address on a private bridge and its own sshd,
started inside a mount namespace where /etc/postgresql, /var/lib/postgresql, /var/run/postgresql,
/var/log/postgresql, /etc/pgbackrest, /var/lib/pgbackrest, /var/log/pgbackrest, /var/spool/pgbackrest and
/etc/pgops, /home/pgbackrest, /tmp and /etc/ssh (its own host key) are directories of that host alone. Everything an SSH session starts there (the
PostgreSQL servers too) inherits both namespaces, so the hosts share only the installed packages.

Ansible logs in as an unprivileged user with a key and becomes root with sudo; host keys are
checked against a known_hosts file written here. Traffic goes only to the addresses of these
namespaces (a /24 this harness owns, checked unused before it starts); every namespace, link and
process is removed on every exit path (``destroy``, also from ``atexit``).
"""

import atexit
import ipaddress
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SUBNET = ipaddress.ip_network('10.213.77.0/24')
BRIDGE = 'pgopsmh0'
SSH_USER = 'pgopsci'
PREFIX = 'pgopsmh-'
PRIVATE_DIRS = ('/etc/postgresql', '/var/lib/postgresql', '/var/run/postgresql', '/var/log/postgresql',
                '/etc/pgbackrest', '/var/lib/pgbackrest', '/var/log/pgbackrest', '/var/spool/pgbackrest', '/etc/pgops',
                '/home/pgbackrest', '/tmp', '/etc/ssh')
# Logins sshd accepts: the test's own (its key from the estate), and the accounts pgBackRest uses
# between the database hosts and a repository host (keys the roles install).
SSH_LOGINS = (SSH_USER, 'postgres', 'pgbackrest')


def _run(argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)


def address_range_unused():
    """No interface, route or namespace of this machine uses the range (another test's, or a network's)."""
    addrs = _run(['ip', '-o', 'addr', 'show']).stdout
    routes = _run(['ip', 'route', 'show']).stdout
    used = [line for line in (addrs + routes).splitlines() if str(SUBNET.network_address)[:-1] in line]
    return not used and BRIDGE not in _run(['ip', '-o', 'link', 'show']).stdout


def ensure_ssh_user():
    """The unprivileged login of the tests, with passwordless sudo (as on a managed server)."""
    try:
        pwd.getpwnam(SSH_USER)
    except KeyError:
        _run(['useradd', '--create-home', '--shell', '/bin/bash', SSH_USER])
    # no password at all, but not a locked account (sshd refuses key logins of locked ones)
    _run(['usermod', '-p', '*', SSH_USER])
    with open('/etc/sudoers.d/%s' % SSH_USER, 'w') as fh:
        fh.write('%s ALL=(ALL) NOPASSWD: ALL\n' % SSH_USER)
    os.chmod('/etc/sudoers.d/%s' % SSH_USER, 0o440)


class Estate(object):
    """``hosts``: names; host i gets address .(10+i) on the bridge, the controller .1."""

    def __init__(self, hosts=('db1', 'db2', 'db3')):
        self.names = list(hosts)
        # not under /tmp: each host has a /tmp of its own, which would hide this directory there
        self.base = tempfile.mkdtemp(prefix='pgops-estate-', dir='/var/tmp')
        os.chmod(self.base, 0o755)
        self.controller = str(SUBNET.network_address + 1)
        self.address = dict((n, str(SUBNET.network_address + 10 + i)) for i, n in enumerate(self.names))
        self.sshd = {}
        self.created = []
        atexit.register(self.destroy)

    # -- set-up
    def start(self):
        if not address_range_unused():
            raise RuntimeError('%s or the bridge %s is already in use on this machine: not starting' % (
                SUBNET, BRIDGE))
        ensure_ssh_user()
        os.makedirs('/run/sshd', exist_ok=True)
        self.key = os.path.join(self.base, 'id_ed25519')
        _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', self.key])
        authorized = os.path.join(self.base, 'authorized_keys')
        shutil.copy(self.key + '.pub', authorized)
        os.chmod(authorized, 0o644)
        try:
            _run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge'])
            self.created.append(('link', BRIDGE))
            _run(['ip', 'addr', 'add', '%s/%d' % (self.controller, SUBNET.prefixlen), 'dev', BRIDGE])
            _run(['ip', 'link', 'set', BRIDGE, 'up'])
            known = []
            for name in self.names:
                known.append(self._host(name, authorized))
            with open(os.path.join(self.base, 'known_hosts'), 'w') as fh:
                fh.write(''.join(known))
            for name in self.names:
                self._wait_ssh(name)
        except BaseException:
            self.destroy()
            raise
        return self

    def _host(self, name, authorized):
        ns, veth, peer = PREFIX + name, 'pgmh-%s' % name, 'pgmhp-%s' % name
        _run(['ip', 'netns', 'add', ns])
        self.created.append(('netns', ns))
        _run(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', peer])
        self.created.append(('link', veth))
        _run(['ip', 'link', 'set', veth, 'master', BRIDGE, 'up'])
        _run(['ip', 'link', 'set', peer, 'netns', ns])
        _run(['ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', '%s/%d' % (self.address[name], SUBNET.prefixlen),
              'dev', peer])
        _run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up'])
        _run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
        home = os.path.join(self.base, name)
        binds = []
        for path in PRIVATE_DIRS:
            own = os.path.join(home, path.strip('/').replace('/', '_'))
            if path == '/etc/ssh':
                # the client configuration of this machine, a host key of this host's own
                shutil.copytree('/etc/ssh', own, ignore=shutil.ignore_patterns('ssh_host_*', 'sshd_config*'))
            else:
                os.makedirs(own)
            owner = 'postgres' if path.startswith(('/var/', '/etc/postgresql', '/etc/pgbackrest')) else 'root'
            shutil.chown(own, owner, owner)
            os.chmod(own, {'/var/run/postgresql': 0o2775, '/tmp': 0o1777}.get(path, 0o755))
            binds.append('mkdir -p %s && mount --bind %s %s' % (path, own, path))
        etc_ssh = os.path.join(home, 'etc_ssh')
        _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'root@%s' % name, '-f',
              os.path.join(etc_ssh, 'ssh_host_ed25519_key')])
        hostkey = '/etc/ssh/ssh_host_ed25519_key'
        config = os.path.join(etc_ssh, 'sshd_config')
        with open(config, 'w') as fh:
            fh.write('\n'.join([
                'ListenAddress %s' % self.address[name], 'Port 22', 'HostKey %s' % hostkey,
                'PidFile %s' % os.path.join(home, 'sshd.pid'),
                'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin no',
                'AllowUsers %s' % ' '.join(SSH_LOGINS), 'StrictModes no', 'UsePAM yes', 'Subsystem sftp internal-sftp',
                'MaxStartups 50', 'MaxSessions 50',
                'Match User %s' % SSH_USER, '    AuthorizedKeysFile %s' % authorized, '']))
        config = '/etc/ssh/sshd_config'
        script = ' && '.join(binds + ['exec /usr/sbin/sshd -D -e -f %s' % config])
        log = open(os.path.join(home, 'sshd.log'), 'w')
        self.sshd[name] = subprocess.Popen(
            ['ip', 'netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        with open(os.path.join(etc_ssh, 'ssh_host_ed25519_key.pub')) as fh:
            return '%s %s' % (self.address[name], fh.read())

    def _wait_ssh(self, name, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                socket.create_connection((self.address[name], 22), timeout=1).close()
                return
            except OSError:
                if self.sshd[name].poll() is not None:
                    break
                time.sleep(0.1)
        with open(os.path.join(self.base, name, 'sshd.log')) as fh:
            raise RuntimeError('sshd of %s did not start: %s' % (name, fh.read()[-2000:]))

    # -- use
    def ssh(self, name, command):
        """Run a shell command on a host as root (sudo over SSH), as an operator would."""
        return _run(['ssh', '-i', self.key, '-o', 'UserKnownHostsFile=%s' % os.path.join(self.base, 'known_hosts'),
                     '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
                     '%s@%s' % (SSH_USER, self.address[name]), 'sudo sh -c %s' % shlex.quote(command)], check=False)

    def inventory_vars(self):
        """What every host of an inventory needs to reach these hosts over SSH with host key checks."""
        return {
            'ansible_user': SSH_USER,
            'ansible_ssh_private_key_file': self.key,
            'ansible_ssh_common_args': '-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes' % os.path.join(
                self.base, 'known_hosts'),
            'ansible_python_interpreter': '/usr/bin/python3',
            # no ansible_become: the playbooks ask for become themselves, and an inventory value
            # would override a playbook run without it (daily.yml -e pgops_become=false)
        }

    # -- tear-down
    def destroy(self):
        for name in list(self.sshd):
            ns = PREFIX + name
            pids = _run(['ip', 'netns', 'pids', ns], check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            proc = self.sshd.pop(name)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait(timeout=10)
        for kind, item in reversed(self.created):
            if kind == 'netns':
                _run(['ip', 'netns', 'del', item], check=False)
            else:
                _run(['ip', 'link', 'del', item], check=False)
        self.created = []
        shutil.rmtree(self.base, ignore_errors=True)
