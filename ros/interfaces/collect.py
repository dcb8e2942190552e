#!/usr/bin/env python3
# Collects the .msg/.srv/.action files pamstack's motion layer exchanges, with their dependency closure,
# from upstream git mirrors, for each distro; types already in @foxglove/rosmsg-msgs-common are skipped.
import os, re, subprocess, sys
ROOT = os.path.dirname(os.path.abspath(__file__))
FOX = os.path.join(ROOT, '../../node_modules/@foxglove/rosmsg-msgs-common/msgdefs')
M = os.environ.get('MIRRORS', '/work/.mirror')  # <owner>+<repo>/repo bare clones
SRC = {  # (repo, ref, path prefix) per package and distro
  'humble': {
    'moveit_msgs': ('moveit+moveit_msgs', 'humble', ''),
    'control_msgs': ('ros-controls+control_msgs', 'humble', 'control_msgs/'),
    'object_recognition_msgs': ('wg-perception+object_recognition_msgs', 'ros2', ''),
    'action_msgs': ('ros2+rcl_interfaces', 'humble', 'action_msgs/'),
  },
  'jazzy': {
    'moveit_msgs': ('moveit+moveit_msgs', '2.6.0', ''),
    'control_msgs': ('ros-controls+control_msgs', 'jazzy', 'control_msgs/'),
    'object_recognition_msgs': ('wg-perception+object_recognition_msgs', 'ros2', ''),
    'action_msgs': ('ros2+rcl_interfaces', 'jazzy', 'action_msgs/'),
  },
}
ROOTS = ['moveit_msgs/srv/GetCartesianPath', 'moveit_msgs/srv/GetPositionIK', 'moveit_msgs/action/ExecuteTrajectory',
         'control_msgs/action/GripperCommand', 'control_msgs/action/FollowJointTrajectory', 'action_msgs/srv/CancelGoal']
PRIM = set('bool byte char float32 float64 int8 uint8 int16 uint16 int32 uint32 int64 uint64 string wstring'.split())
def show(distro, pkg, kind, name):
    repo, ref, pre = SRC[distro][pkg]
    r = subprocess.run(['git', '-C', f'{M}/{repo}/repo', 'show', f'{ref}:{pre}{kind}/{name}.{kind}'], capture_output=True, text=True)
    if r.returncode: raise SystemExit(f'{distro} {pkg}/{kind}/{name}: {r.stderr}')
    return r.stdout, f'{repo.replace("+", "/")}@{ref} {pre}{kind}/{name}.{kind}'
def deps(text, pkg):
    out = []
    for line in text.splitlines():
        line = line.split('#')[0].strip()
        if not line or line == '---' or '=' in line.split()[0] if line else False: continue
        parts = line.split()
        if len(parts) < 2 or '=' in line.split()[1]: continue
        t = re.sub(r'\[.*\]$', '', parts[0]); t = re.sub(r'<=\d+$', '', t)
        if t in PRIM or t.startswith('string<=') : continue
        if t == 'Header': t = 'std_msgs/Header'
        if '/' not in t: t = f'{pkg}/{t}'
        out.append(t)
    return out
for distro in SRC:
    seen = set(); queue = []
    manifest = []
    for r in ROOTS:
        pkg, kind, name = r.split('/')
        text, src = show(distro, pkg, kind, name)
        dest = f'{ROOT}/{distro}/{pkg}/{kind}/{name}.{kind}'
        os.makedirs(os.path.dirname(dest), exist_ok=True); open(dest, 'w').write(text); manifest.append(src)
        queue += deps(text, pkg)
    while queue:
        t = queue.pop(0)
        if t in seen: continue
        seen.add(t)
        pkg, name = t.split('/')
        if os.path.exists(f'{FOX}/ros2{distro}/{pkg}/msg/{name}.msg') and pkg not in SRC[distro]: continue
        if pkg not in SRC[distro]: raise SystemExit(f'{distro}: no source for {t}')
        if pkg == 'action_msgs' and os.path.exists(f'{FOX}/ros2{distro}/{pkg}/msg/{name}.msg'): continue
        text, src = show(distro, pkg, 'msg', name)
        dest = f'{ROOT}/{distro}/{pkg}/msg/{name}.msg'
        os.makedirs(os.path.dirname(dest), exist_ok=True); open(dest, 'w').write(text); manifest.append(src)
        queue += deps(text, pkg)
    open(f'{ROOT}/{distro}/SOURCES.txt', 'w').write('# Copied verbatim from upstream (repository@ref path) by ros/interfaces/collect.py\n' + '\n'.join(manifest) + '\n')
    print(distro, len(manifest))
