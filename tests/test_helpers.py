"""Helpers available to models that are not about time."""
import pytest

from engine.execution.helpers import random_sample


def test_random_sample_draws_distinct_members_of_the_population():
    population = [f"企业{i}" for i in range(200)]
    drawn = random_sample(population, 10)
    assert len(set(drawn)) == 10 and set(drawn) <= set(population)
    # 200 choose 10 orderings: two identical draws would mean a fixed or replayed seed
    assert random_sample(population, 10) != drawn


def test_random_sample_refuses_to_draw_more_than_there_are():
    with pytest.raises(ValueError, match="不能从 2 个对象中抽取 3 个"):
        random_sample(["甲", "乙"], 3)
