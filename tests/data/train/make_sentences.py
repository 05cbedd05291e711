#!/usr/bin/env python3
"""Writes sentences.jsonl: short documents with numbers whose values follow from their context
(prices, ages, temperatures, unit conversions), deterministic for the fixed seed. Rerun:
python3 tests/data/train/make_sentences.py > tests/data/train/sentences.jsonl"""
import json
import random

rng = random.Random(2026)
items = {"book": (8, 30), "coffee": (2, 5), "ticket": (20, 90), "lamp": (15, 60)}
names = ["Alice", "Bob", "Chen", "Dana", "Emil"]
cities = {"Oslo": (-8, 12), "Cairo": (18, 38), "Lima": (14, 26), "Seoul": (-5, 30)}
for i in range(300):
    kind = i % 4
    if kind == 0:
        item = rng.choice(list(items))
        low, high = items[item]
        text = f"The {item} costs {rng.uniform(low, high):.2f} dollars."
    elif kind == 1:
        name = rng.choice(names)
        age = rng.randint(20, 70)
        text = f"{name} is {age} years old. Next year {name} will be {age + 1}."
    elif kind == 2:
        city = rng.choice(list(cities))
        low, high = cities[city]
        text = f"In {city} it is {rng.uniform(low, high):.1f} degrees today."
    else:
        km = rng.randint(1, 40)
        text = f"A walk of {km} kilometers is {km * 1000} meters."
    print(json.dumps({"text": text}))
