# SPDX-License-Identifier: GPL-3.0-or-later
"""awx/templates.yml against the playbooks: every playbook has a job template, every DR
playbook asks for its confirmation in a required survey question, every schedule's rule parses,
and every survey is one AWX accepts."""

import glob
import os

import yaml
from dateutil.rrule import rrulestr

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = yaml.safe_load(open(os.path.join(ROOT, 'awx', 'templates.yml')))
TEMPLATES = DATA['pgops_awx_templates']
SURVEY_TYPES = {'text', 'textarea', 'password', 'integer', 'float', 'multiplechoice', 'multiselect'}


def test_every_playbook_has_a_job_template():
    playbooks = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'playbooks', '*.yml')))
    assert sorted(t['playbook'] for t in TEMPLATES) == playbooks
    assert len({t['name'] for t in TEMPLATES}) == len(TEMPLATES)


def test_dr_playbooks_ask_for_their_confirmation():
    by_playbook = dict((t['playbook'], t) for t in TEMPLATES)
    for playbook, variable in DATA['pgops_awx_confirmations'].items():
        questions = dict((q['variable'], q) for q in by_playbook[playbook].get('survey', []))
        assert variable in questions and questions[variable]['required'] is True, playbook
        # the playbook really reads that variable
        assert variable in open(os.path.join(ROOT, playbook)).read(), (playbook, variable)


def test_surveys_are_valid():
    for template in TEMPLATES:
        for question in template.get('survey', []):
            assert question['type'] in SURVEY_TYPES, question
            assert question['question_name'] and question['variable'], question
            if question['type'] in ('multiplechoice', 'multiselect'):
                assert question['choices'] and question.get('default', question['choices'][0]) in question['choices']


def test_schedules_parse_and_cover_the_calendar():
    frequencies = set()
    for template in TEMPLATES:
        for schedule in template.get('schedules', []):
            rule = rrulestr(schedule['rrule'].replace(' RRULE:', '\nRRULE:'))
            assert rule[0] is not None, schedule
            frequencies.add(schedule['rrule'].split('FREQ=')[1].split(';')[0] +
                            (';INTERVAL=3' if 'INTERVAL=3' in schedule['rrule'] else ''))
    assert {'DAILY', 'WEEKLY', 'MONTHLY', 'MONTHLY;INTERVAL=3'} <= frequencies


def test_the_execution_environment_context_builds(tmp_path):
    """ansible-builder create (no container engine needed): the context carries the collection
    tarball of this version, its Python and system requirements, and installs the collections."""
    import subprocess
    import sys
    version = yaml.safe_load(open(os.path.join(ROOT, 'galaxy.yml')))['version']
    ee = open(os.path.join(ROOT, 'awx', 'execution-environment.yml')).read()
    assert 'pgops-postgresql-%s.tar.gz' % version in ee, 'awx/execution-environment.yml names another version'
    assert 'pgops-postgresql-%s.tar.gz' % version in open(os.path.join(ROOT, 'awx', 'ee-requirements.yml')).read()
    bin_dir = os.path.dirname(sys.executable)
    dist = os.path.join(ROOT, 'build', 'dist')
    subprocess.run([os.path.join(bin_dir, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', dist,
                    ROOT], check=True, capture_output=True)
    context = tmp_path / 'context'
    subprocess.run([os.path.join(bin_dir, 'ansible-builder'), 'create', '-f',
                    os.path.join(ROOT, 'awx', 'execution-environment.yml'), '-c', str(context)],
                   check=True, capture_output=True)
    build = context / '_build'
    assert (build / 'collections' / ('pgops-postgresql-%s.tar.gz' % version)).exists()
    assert (build / 'requirements.txt').read_text() == open(os.path.join(ROOT, 'requirements.txt')).read()
    assert 'postgresql-client' in (build / 'bindep.txt').read_text()
    galaxy = yaml.safe_load((build / 'requirements.yml').read_text())
    assert {c['name'] for c in galaxy['collections']} >= {'pgops.postgresql', 'community.postgresql', 'awx.awx'}
    containerfile = next(p for p in (context / 'Containerfile', context / 'Dockerfile') if p.exists()).read_text()
    assert 'ansible-galaxy' in containerfile and 'ansible-core==2.19.14' in containerfile
