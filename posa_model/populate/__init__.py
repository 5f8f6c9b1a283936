"""Populating a room: what it offers (:mod:`.spots`), who does what where (:mod:`.plan`,
:mod:`.interactions`), each person different (:mod:`.variety`), all placed by POSA's maps with
poses that adapt to the furniture (:func:`.populate.populate`)."""

from .plan import PeopleRequest, parse_people
from .populate import Person, PopulateResult, populate
from .spots import Spot, describe_spots, find_spots

__all__ = ["PeopleRequest", "Person", "PopulateResult", "Spot", "describe_spots", "find_spots",
           "parse_people", "populate"]
