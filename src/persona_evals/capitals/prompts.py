"""The wording of the capitals questions."""

QUESTION = "What is the capital of {country}? Answer with the city name."
