"""Hidden test cases, one point each — never shipped to students.

Data only: for each exercise, the seed and sizes with which the grader calls the exercise's
public case generator (``course_lib.checks.EXERCISES[id].cases``). The self-checks use the
generators' defaults, so a hidden case is always a new random draw (``SEED``, which no
self-check uses) and mostly new shapes and sizes.
"""

SEED = 9001  # no self-check uses it

HIDDEN: dict[str, dict] = {
    "ex_1_1": dict(seed=SEED, sizes=[(1, 1, 1), (3, 5, 2), (4, 1, 7)]),
    "ex_1_2": dict(sizes=[(2, 9), (40, 3), (1, 128)]),
    "ex_1_3": dict(seed=SEED, sizes=[(3, 6, 0.3), (3, 6, 4.0)]),
    "ex_2_1": dict(seed=SEED, sizes=[(1, 2, 3), (3, 1, 4), (2, 5, 2)]),
    "ex_2_2": dict(seed=SEED, sizes=[(2, 4, 1, 3), (5, 10, 0, 9), (3, 6, 2, 2)]),
    "ex_2_3": dict(seed=SEED, sizes=[(0.1, 3.0, 1), (5.0, 0.5, 1), (0.5, 1.5, 50)]),
    "ex_2_4": dict(seed=SEED, sizes=[(1, 3, 1, 1), (4, 2, 3, 2), (2, 9, 2, 6)]),
    "ex_3_1": dict(seed=SEED, sizes=[(1, 2, 3), (4, 1, 2), (2, 5, 6)]),
    "ex_3_2": dict(sizes=[(2, 9), (40, 3), (1, 128)]),
    "ex_3_3": dict(seed=SEED, sizes=[(1, 2, 2), (3, 4, 5), (2, 1, 1)]),
    "ex_3_4": dict(seed=SEED, sizes=[(1, 2, 3), (4, 1, 2), (2, 5, 6)]),
    "ex_4_1": dict(seed=SEED, sizes=[(1, 2, 3), (4, 1, 2), (2, 5, 6)]),
    "ex_4_2": dict(sizes=[(2, 9, True), (17, 3, False), (64, 1, True)]),
    "ex_4_3": dict(seed=SEED, sizes=[(1, 1, 1, 5), (12, 3, 12, 60), (4, 6, 20, 27)]),
    "ex_4_4": dict(seed=SEED, sizes=[(20, 3, 2, 0.0), (40, 10, 5, 3.0), (6, 7, 1, 2.0)]),
    "ex_5_1": dict(sizes=[("concat", 1, 1, 1, False), ("ave", 5, 2, 4, True),
                          ("concat", 3, 9, 7, True)]),
    "ex_5_2": dict(seed=SEED, sizes=[(1, 1, 2), (3, 7, 1), (2, 4, 5)]),
    "ex_5_3": dict(seed=SEED, sizes=[((), 8), ((10, 20, 40), 3), ((1000,), 1)]),
    "ex_5_4": dict(seed=SEED, sizes=[(1, 2, 5, 3, 1, 2), (2, 1, 7, 2, 3, 3), (2, 4, 9, 5, 5, 6)]),
    "ex_6_1": dict(seed=SEED, sizes=[(1, 3, 2, 2, 4), (2, 5, 1, 3, 2), (4, 2, 3, 3, 1)]),
    "ex_6_2": dict(seed=SEED, sizes=[(2, 4, 1.0), (1, 7, 2.0), (3, 3, 800.0)]),
    "ex_6_3": dict(seed=SEED, sizes=[(2, 5, 3), (4, 3, 4), (1, 2, 2)]),
    "ex_6_4": dict(seed=SEED, sizes=[(2, 12, 3), (10, 7, 5), (4, 5, 40)]),
    "ex_6_5": dict(seed=SEED, sizes=[(6, 2, 5, 0.6), (9, 5, 7, 0.8), (4, 1, 3, 0.0)]),
    "ex_7_1": dict(seed=SEED, sizes=[(1, 3, 3, 4, False), (2, 2, 5, 3, True),
                                     (3, 1, 4, 6, True)]),
    "ex_7_2": dict(sizes=[3, 8, 13]),
    "ex_7_3": dict(sizes=[(7, 4), (33, 10), (200, 2)]),
    "ex_7_4": dict(seed=SEED, sizes=[(1, 1, 2, 1, 2), (2, 0, 6, 3, 2), (4, 7, 12, 4, 3)]),
    "ex_7_5": dict(seed=SEED, sizes=[(1, 3, 2, 1, 2, True), (3, 2, 6, 2, 3, False),
                                     (2, 7, 8, 4, 2, True)]),
    "ex_9_1": dict(seed=SEED, sizes=[(1, 4), (3, 1), (5, 2)]),
    "ex_9_2": dict(seed=SEED, sizes=[(1, 1, 1), (3, 4, 5), (6, 2, 3)]),
    "ex_9_3": dict(seed=SEED, sizes=[(1, 3, 2, 1.0), (2, 64, 1, 50.0), (4, 9, 3, 300.0)]),
    "ex_10_1": dict(seed=SEED, sizes=[(2, 6), (8, 64), (3, 10)]),
    "ex_10_2": dict(seed=SEED, sizes=[(1, 3, 2, 4), (4, 9, 5, 6), (2, 2, 7, 2)]),
    "ex_10_3": dict(sizes=[(2e-3, 32, 64, 3, 12), (1e-3, 100, 800, 2000, 500),
                           (5e-4, 16, 16, 0, 4)]),
}
