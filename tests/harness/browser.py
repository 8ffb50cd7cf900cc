# SPDX-License-Identifier: GPL-3.0-or-later
"""A page opened in Debian's chromium, headless, in a network namespace of its own (only its own
loopback: nothing can leave the machine, whatever the page or the browser asks for).

``open_page(path)`` returns the DOM after load, the URLs the page itself asked for (from chromium's
net log: requests whose initiator is an origin; the browser's own update checks are 'not an origin'),
and a screenshot as a Pillow image.
"""

import json
import os
import shutil
import subprocess
import tempfile

FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
         '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
         '--no-pings', '--disable-domain-reliability', '--disable-breakpad', '--hide-scrollbars',
         '--disable-features=Translate,OptimizationHints,MediaRouter,SpellCheck']


def chromium():
    return shutil.which('chromium') or shutil.which('chromium-browser')


def _run(args, work):
    argv = ['unshare', '--net', chromium()] + FLAGS + ['--user-data-dir=%s' % os.path.join(work, 'profile')] + args
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=work)


def page_requests(netlog):
    """The URLs requested by a page (an origin initiated them), from a chromium net log."""
    with open(netlog) as fh:
        data = json.load(fh)
    start = data['constants']['logEventTypes']['URL_REQUEST_START_JOB']
    urls = []
    for event in data['events']:
        params = event.get('params') or {}
        if event['type'] == start and params.get('initiator') != 'not an origin' and 'url' in params:
            urls.append(params['url'])
    return urls


def open_page(path, width=1200, height=2400, query=''):
    from PIL import Image
    work = tempfile.mkdtemp(prefix='pgops-browser-')
    try:
        url = 'file://' + os.path.abspath(path) + ('?' + query if query else '')
        netlog = os.path.join(work, 'net.json')
        dom = _run(['--log-net-log=%s' % netlog, '--dump-dom', url], work)
        assert dom.returncode == 0, dom.stderr[-2000:]
        shot = os.path.join(work, 'page.png')
        pic = _run(['--window-size=%d,%d' % (width, height), '--screenshot=%s' % shot, url], work)
        assert pic.returncode == 0 and os.path.exists(shot), pic.stderr[-2000:]
        image = Image.open(shot).convert('RGB')
        image.load()
        return {'dom': dom.stdout, 'requests': page_requests(netlog), 'image': image, 'console': dom.stderr}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pixels_of(image, rgb, tolerance=8):
    """How many pixels of the screenshot have (nearly) this colour."""
    r0, g0, b0 = rgb
    return sum(1 for r, g, b in image.getdata() if abs(r - r0) <= tolerance and abs(g - g0) <= tolerance
               and abs(b - b0) <= tolerance)
