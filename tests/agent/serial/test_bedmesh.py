"""Bed meshes read from real Marlin (bilinear, mesh bed leveling, UBL) and Prusa reports."""

from __future__ import annotations

import pytest

from printfleet_agent.printers.serial.bedmesh import parse_bed_mesh

pytestmark = pytest.mark.timeout(10)

BED = (235.0, 235.0)

# M420 V / G29 on Marlin 2 with ABL_BILINEAR_SUBDIVISION (OctoPrint-BedLevelVisualizer sample):
# the measured grid comes first, rows from the front.
BILINEAR_SUBDIVIDED = """\
Bilinear Leveling Grid:
      0      1      2      3
 0 +0.011 -0.050 -0.094 -0.188
 1 +0.037 +0.028 +0.017 -0.039
 2 +0.047 +0.080 +0.096 +0.055
 3 +0.111 +0.151 +0.162 +0.125

Subdivided with CATMULL ROM Leveling Grid:
        0        1        2        3        4        5        6        7        8        9
 0 +0.01125 -0.00997 -0.03119 -0.05037 -0.06425 -0.07609 -0.09363 -0.12133 -0.15473 -0.18813
 1 +0.02036 +0.00541 -0.00955 -0.02326 -0.03312 -0.04174 -0.05572 -0.07902 -0.10768 -0.13633

echo:Bed Leveling ON
ok P15 B3"""

# Marlin bugfix on a delta: no padding before the row numbers.
BILINEAR_DELTA = """\
Bilinear Leveling Grid:
0      1      2      3      4      5      6      7      8
0 +0.077 +0.019 -0.170 -0.210 -0.315 -0.204 -0.317 -0.334 -0.261
1 -0.033 +0.064 -0.181 -0.273 -0.315 -0.359 -0.338 -0.143 -0.104
2 -0.049 -0.214 -0.127 -0.187 -0.177 -0.214 -0.291 -1.258 -0.013
3 +0.038 -0.184 -0.198 -0.195 -0.189 -0.197 -0.205 -0.255 +0.056
4 -0.169 -0.177 -0.151 -0.151 -0.117 -0.112 -0.194 -0.188 -0.164
5 +0.045 -0.181 -0.205 -0.178 -0.160 -0.160 -0.172 -0.189 +0.053
6 +0.048 -0.141 -0.149 -0.187 -0.185 -0.202 -0.218 -0.238 +0.012
7 +0.095 +0.082 -0.153 -0.200 -0.218 -0.240 -0.276 -0.089 -0.073
8 +0.117 +0.053 +0.012 +0.034 -0.150 -0.010 -0.108 -0.171 -0.183

echo:Bed Leveling OFF
echo:Fade Height OFF
ok"""

# Marlin's MESH_BED_LEVELING (M420 V).
MESH_BED_LEVEL = """\
Mesh Bed Level data:
6 x 6 mesh. Z offset: 0.00000
Measured points:
      0      1      2      3      4      5
0 +0.200 +0.093 +0.039 -0.005 -0.048 -0.072
1 +0.176 +0.063 -0.018 -0.039 -0.048 -0.040
2 +0.178 +0.059 -0.024 -0.040 -0.054 -0.047
3 +0.206 +0.078 -0.008 -0.036 -0.064 -0.082
4 +0.243 +0.098 -0.008 -0.064 -0.127 -0.164
5 +0.249 +0.124 +0.001 -0.072 -0.159 -0.247
ok"""

# Prusa-Firmware's G81 prints the back row first.
PRUSA_G81 = """\
Num X,Y: 7,7
Z search height: 5
Measured points:
  0.37333  0.77296  1.09046  1.32583  1.47907  1.55019  1.53917
  0.37648  0.62505  0.81650  0.95083  1.02805  1.04814  1.01111
  0.36370  0.47906  0.55681  0.59694  0.59947  0.56437  0.49167
  0.33500  0.33500  0.31139  0.26417  0.19333  0.09889  -0.01917
  0.29037  0.19286  0.08024  -0.04750  -0.19035  -0.34831  -0.52139
  0.22981  0.05264  -0.13665  -0.33806  -0.55158  -0.77723  -1.01500
  0.15333  -0.08565  -0.33926  -0.60750  -0.89037  -1.18787  -1.50000
ok"""

# UBL's M420 V1 (Marlin documentation): back row first, corners in mm, [ ] marks the nozzle.
UBL_M420 = """\

Bed Topography Report:

    ( 30,200)                      (200,200)
        0       1       2       3       4
 4 |  0.000   0.000   0.000   0.000   0.000
   |
 3 | +0.050   0.000  +0.050  -0.025  -0.025
   |
 2 | +0.100  +0.150  +0.175  +0.075   0.000
   |
 1 |  0.000   0.000  +0.075  +0.150  +0.200
   |
 0 |[ 0.000]  0.000   0.000   0.000   0.000
        0       1       2       3       4
    ( 30, 30)                      (200, 30)

Mesh is valid
Storage slot: 0
echo:Bed Leveling OFF
echo:Fade Height OFF
ok"""

# UBL's G29 T with the outer ring unprobed (".").
UBL_UNPROBED_EDGE = """\
Bed Topography Report:
    ( 13,187)                                                              (187,187)
        0       1       2       3       4       5       6       7       8       9
 9 |   .       .       .       .       .       .       .       .       .       .
   |
 8 |   .     +0.116  +0.212  +0.309  +0.366  +0.440  +0.477  +0.517  +0.580    .
   |
 7 |   .     +0.010  +0.097  +0.178  +0.259  +0.334  +0.375  +0.431  +0.487    .
   |
 6 |   .     -0.101  -0.046  +0.060  +0.125  +0.207  +0.292  +0.352  +0.405    .
   |
 5 |   .     -0.216  -0.150  -0.068  +0.004  +0.097  +0.169  +0.245  +0.300    .
   |
 4 |   .     -0.315  -0.261 [-0.155] -0.100  -0.011  +0.075  +0.142  +0.215    .
   |
 3 |   .     -0.405  -0.338  -0.253  -0.181  -0.093  -0.011  +0.057  +0.110    .
   |
 2 |   .     -0.456  -0.388  -0.293  -0.221  -0.138  -0.070  -0.003  +0.030    .
   |
 1 |   .     -0.564  -0.469  -0.366  -0.293  -0.221  -0.168  -0.141  -0.097    .
   |
 0 |   .       .       .       .       .       .       .       .       .       .
        0       1       2       3       4       5       6       7       8       9
    ( 13, 13)                                                              (187, 13)
ok"""


@pytest.mark.parametrize(("report", "size", "front", "back", "bounds"), [
    (BILINEAR_SUBDIVIDED, (4, 4), [0.011, -0.05, -0.094, -0.188], [0.111, 0.151, 0.162, 0.125],
     (0, 235, 0, 235)),
    (BILINEAR_DELTA, (9, 9), [0.077, 0.019, -0.17, -0.21, -0.315, -0.204, -0.317, -0.334, -0.261],
     [0.117, 0.053, 0.012, 0.034, -0.15, -0.01, -0.108, -0.171, -0.183], (0, 235, 0, 235)),
    (MESH_BED_LEVEL, (6, 6), [0.2, 0.093, 0.039, -0.005, -0.048, -0.072],
     [0.249, 0.124, 0.001, -0.072, -0.159, -0.247], (0, 235, 0, 235)),
    (PRUSA_G81, (7, 7), [0.15333, -0.08565, -0.33926, -0.6075, -0.89037, -1.18787, -1.5],
     [0.37333, 0.77296, 1.09046, 1.32583, 1.47907, 1.55019, 1.53917], (0, 235, 0, 235)),
    (UBL_M420, (5, 5), [0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0], (30, 200, 30, 200)),
    (UBL_UNPROBED_EDGE, (8, 8), [-0.564, -0.469, -0.366, -0.293, -0.221, -0.168, -0.141, -0.097],
     [0.116, 0.212, 0.309, 0.366, 0.44, 0.477, 0.517, 0.58], (32.333, 167.667, 32.333, 167.667)),
])
def test_mesh_rows_run_from_front_to_back(report, size, front, back, bounds):
    mesh = parse_bed_mesh(report.splitlines(), BED)
    assert mesh is not None
    assert (len(mesh.rows[0]), len(mesh.rows)) == size
    assert mesh.rows[0] == pytest.approx(front)
    assert mesh.rows[-1] == pytest.approx(back)
    assert (mesh.min_x, mesh.max_x, mesh.min_y, mesh.max_y) == pytest.approx(bounds)


def test_ubl_marks_the_nozzle_cell_without_changing_the_value():
    mesh = parse_bed_mesh(UBL_UNPROBED_EDGE.splitlines(), BED)
    assert mesh is not None
    assert mesh.rows[3][2] == pytest.approx(-0.155)  # row j=4, column i=3, after trimming


@pytest.mark.parametrize("report", [
    'echo:Unknown command: "M420 V"\nok',
    "echo:Bed Leveling OFF\nok",
    "Bilinear Leveling Grid:\n      0      1\n 0 +0.010  =======\n 1 +0.020 -0.010\nok",  # a hole
    "Bilinear Leveling Grid:\n      0      1      2\n 0 +0.010 -0.020\n 1 +0.020 -0.010 +0.1\nok",
])
def test_no_mesh_rather_than_a_made_up_one(report):
    assert parse_bed_mesh(report.splitlines(), BED) is None
