"""People in the scene: Populate Scene, Populate Selected, Regenerate People, Lock People.

Each operator: properties -> the scene's objects, grid and bodies (:mod:`.scene`) -> one
``posa_model.populate.populate`` call -> one body per placed person (:mod:`.people`) -> report.
The options carry the names of ``python -m posa_model.place``'s (``people``, ``bodies``,
``mix``, ``fill``, ``on``, ``seed``, ``device``, ``grid_resolution``) and mean the same
(:mod:`posa_model.populate.options`). Everything that can refuse runs before anything changes,
and bodies are only made once posa_model has placed their people, so a refused call leaves the
file as it was. Bodies already in the scene are obstacles; locked people are never moved,
regenerated or replaced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from . import body, contacts, deps, people, props, runtime, scene
from .ops_common import BodyModelOptions, ObjectModeOnly, work_progress

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems as OperatorReturn

#: What populating needs (:data:`.deps.FEATURES`).
POPULATE_MODULES = deps.feature_modules("Populate Scene")


class PlacementOptions:
    """Mixin: the options every placing operator shares, named as the command line's."""

    seed: IntProperty(name="Seed", default=0, min=0,
                      description="The same seed gives the same people")
    device: EnumProperty(name="Device", items=props.DEVICE_ITEMS, default="AUTO")
    grid_resolution: FloatProperty(
        name="Grid Resolution", default=0.05, min=0.01, max=0.5, subtype="DISTANCE",
        unit="LENGTH", description="Spacing of the scene's distance grid (finer is slower)",
    )

    def _refuse(self, message: str) -> set[OperatorReturn]:
        self.report({"ERROR"}, message)  # type: ignore[attr-defined]
        return {"CANCELLED"}


@dataclass(frozen=True)
class Made:
    """A body made for a placed person, and what to record on it."""

    found: body.BodyObjects
    person: Any
    fields: dict


def selected_bodies(context: bpy.types.Context) -> list[body.BodyObjects]:
    """The POSA bodies among the selected objects (a body's mesh or armature), once each."""
    out: dict[str, body.BodyObjects] = {}
    for obj in context.selected_objects:
        found = body.find_body(obj)
        if found is not None and scene.is_body(found.mesh):
            out.setdefault(found.mesh.name, found)
    return [out[name] for name in sorted(out)]


def make_people(context: bpy.types.Context, models: dict, placed: list, *, model_path: str,
                inputs: scene.SceneInputs, names: list[str] | None = None
                ) -> list[body.BodyObjects]:
    """A body per ``(person, fields)`` of ``placed`` (with the model of the person's gender,
    ``models`` {gender: model}), its map and record written; the new bodies become the
    selection."""
    made = []
    for k, (person, fields) in enumerate(placed):
        found = people.add_person(context, models[person.gender], person,
                                  model_path=model_path, gender=person.gender,
                                  name=names[k] if names else "")
        people.write_contacts(context, found.mesh, person.body, checkpoint=inputs.checkpoint,
                              seed=int(fields["seed"]), device=inputs.loaded.device,
                              trained=bool(inputs.loaded.sampler.trained))
        people.record_placement(found.mesh, person.body, **fields)
        made.append(found)
    select(context, made)
    if context.window_manager is not None:
        contacts.show_in_viewports(w.screen for w in context.window_manager.windows)
    return made


def select(context: bpy.types.Context, made: list[body.BodyObjects]) -> None:
    """Make the meshes of ``made`` the selection, the first one active."""
    view_layer = context.view_layer
    if view_layer is None or not made:
        return
    for obj in view_layer.objects:
        obj.select_set(False)
    for found in made:
        found.mesh.select_set(True)
    view_layer.objects.active = made[0].mesh


def person_fields(person, seed: int, generation: int = 0) -> dict:
    """What a person's body records: interaction, spot, supporting object, seed."""
    spot = person.spot
    return {"interaction": person.interaction, "pose": person.interaction,
            "person": person.name, "spot": spot.describe() if spot is not None else "",
            "spot_kind": spot.kind if spot is not None else "",
            "object": spot.object if spot is not None else "", "seed": int(seed),
            "generation": int(generation)}


def interactions_text(metrics: dict) -> str:
    """"sit 2/3, lie 1/1": placed of requested per interaction."""
    return ", ".join(f"{name} {v['placed']}/{v['requested']}"
                     for name, v in metrics.get("interactions", {}).items())


class _Populate(PlacementOptions, BodyModelOptions, ObjectModeOnly):
    """What Populate Scene and Populate Selected share: who comes from :meth:`_who`."""

    object_mode_task = "populate the scene"
    genders: StringProperty(
        name="Genders", description="Weights of the people's genders, e.g. 'female:1,male:1': "
        "each person's SMPL-X model drawn by them (Model: SMPL-X; empty: Gender for everyone)",
    )

    def _who(self, context: bpy.types.Context) -> tuple[Any, tuple[str, ...],
                                                        list[body.BodyObjects]] | str:
        """(PeopleRequest, object patterns for ``on``, bodies to replace) or a refusal."""
        raise NotImplementedError

    def _nobody(self, result) -> str:
        return (f"Nobody to place: the request asks for no one the room can take (it offers "
                f"{result.metrics.get('spots', 'nothing')})")

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        started = time.perf_counter()
        if missing := deps.missing_modules(POPULATE_MODULES):
            return self._refuse(deps.missing_message(missing))
        from posa_model.errors import PosaError

        try:
            who = self._who(context)
        except PosaError as exc:
            return self._refuse(str(exc))
        if isinstance(who, str):
            return self._refuse(who)
        request, on, replaced = who
        inputs = scene.scene_inputs(context, self.device, self.grid_resolution,
                                    POPULATE_MODULES, skip=tuple(f.mesh for f in replaced))
        if isinstance(inputs, str):
            return self._refuse(inputs)
        # one model per gender of the mix (from the same SMPL-X folder), else the Gender's
        genders = [g for g, w in (request.genders or {}).items() if w > 0] or [self.gender]
        if request.genders and self.model != "SMPLX":
            return self._refuse("Genders need SMPL-X bodies (Model: SMPL-X, with a folder "
                                "holding SMPLX_FEMALE.npz / SMPLX_MALE.npz): the stand-in has a "
                                "neutral body only")
        models, model_path = {}, ""
        for g in genders:
            loaded = self.load_body_model(context, "populate with the Stand-in body", g)
            if isinstance(loaded, str):
                return self._refuse(loaded)
            models[g], model_path = loaded
        from posa_model.place import PlacementConfig
        from posa_model.populate import populate

        sampler = inputs.loaded.sampler
        try:
            for g, m in models.items():
                sampler.check_body(m.faces, f"{model_path or 'the stand-in'} ({g})",
                                   num_vertices=m.num_vertices)
            with work_progress(context, "Populate Scene") as progress:
                result = populate(inputs.grid, inputs.objects, request, models, sampler,
                                  PlacementConfig(seed=self.seed, device=inputs.loaded.device),
                                  on=on, obstacles=inputs.obstacles, progress=progress)
        except PosaError as exc:
            return self._refuse(f"Cannot populate the scene: {exc}")

        if not result.people:
            return self._refuse(self._nobody(result))
        for person in result.people:
            if not person.placed:
                self.report({"WARNING"}, f"{person.name} not placed: {person.reason}")
        placed = [(p, person_fields(p, self.seed)) for p in result.people if p.placed]
        if not placed:
            return self._refuse(f"None of the {len(result.people)} people found a place in the "
                                f"scene (the warnings say why); nothing was added")
        people.remove_bodies(replaced)
        made = make_people(context, models, placed, model_path=model_path, inputs=inputs)
        for found, (person, fields) in zip(made, placed, strict=True):
            metrics = person.body.metrics if person.body is not None else {}
            self.report({"INFO"}, f"{found.mesh.name}: {fields['spot'] or person.interaction}, "
                        f"{people.summary_text(metrics)}")
        for warning in inputs.warnings:
            self.report({"WARNING"}, warning)
        if inputs.loaded.fallback:
            self.report({"WARNING"}, inputs.loaded.fallback)
        metrics = result.metrics
        summary = (f"Placed {metrics['placed']} of {metrics['bodies']} people "
                   f"({interactions_text(metrics)})")
        props.scene_settings(context).last_populate = summary
        extra = f"; replaced {len(replaced)}" if replaced else ""
        self.report({"INFO"}, f"{summary} on {inputs.loaded.device} in "
                    f"{time.perf_counter() - started:.1f} s{extra}; non-collision "
                    f"{metrics['non_collision']:.3f}, touch {metrics['touch']:.2f}, semantic "
                    f"match {metrics['semantic_match']:.3f}; the room offers "
                    f"{metrics.get('spots', '-')}")
        return {"FINISHED"}


class POSA_OT_populate_scene(_Populate, bpy.types.Operator):
    """Place people who sit, lie, stand, lean and kneel where the scene offers room, each with
    their own shape and pose, around the people already there"""

    bl_idname = "posa.populate_scene"
    bl_label = "Populate Scene"
    bl_options = {"REGISTER", "UNDO"}

    people: StringProperty(
        name="People", description="Exact counts per interaction, e.g. 'sit:3,lie:1,stand:2' "
        "(sit, lie, stand, lean, kneel); empty: not used",
    )
    bodies: IntProperty(
        name="Bodies", default=0, min=0, max=2000,
        description="A number of people shared out by Mix over what the room offers (0: not "
        "used; with nothing else set, 10 people in the default mix)",
    )
    mix: StringProperty(name="Mix", description="Weights for Bodies, e.g. 'sit:3,stand:1'")
    fill: EnumProperty(name="Fill", items=props.FILL_ITEMS, options={"ENUM_FLAG"}, default=set(),
                       description="Someone on every free seat and/or bed place")
    on: StringProperty(
        name="On", description="Only these objects' seats and beds: names or glob patterns, "
        "e.g. 'Chair.*,Sofa' (alone: fill them)",
    )
    replace: BoolProperty(
        name="Replace Unlocked People", default=False,
        description="Remove the people placed before (except locked ones) instead of adding "
        "people around them",
    )

    def _who(self, context: bpy.types.Context):
        from posa_model.populate.options import on_patterns, people_request

        fill = ",".join(sorted(self.fill)) or None
        request = people_request(self.people.strip() or None, self.bodies or None,
                                 self.mix.strip() or None, fill, self.on.strip() or None,
                                 self.genders.strip() or None)
        replaced = []
        if self.replace and context.scene is not None:
            replaced = [f for f in (body.find_body(o) for o in scene.scene_bodies(context.scene))
                        if f is not None and people.placement(f.mesh).get("interaction")
                        and not people.is_locked(f.mesh)]
        return request, on_patterns(self.on), replaced


class POSA_OT_populate_selected(_Populate, bpy.types.Operator):
    """Give each selected object (or the piece of furniture an empty groups) the people that
    use it: a sitter on every free seat of chairs, stools, sofas and benches, a person lying
    in every free bed place"""

    bl_idname = "posa.populate_selected"
    bl_label = "Populate Selected"
    bl_options = {"REGISTER", "UNDO"}
    object_mode_task = "populate the selected objects"

    def _who(self, context: bpy.types.Context):
        from posa_model.populate.options import people_request

        chosen = sorted(o.name for o in context.selected_objects  # a piece or its parts
                        if (o.type == "MESH" and not scene.is_body(o)) or o.type == "EMPTY")
        if not chosen:
            return ("Nothing is selected: select the furniture to populate (chairs, sofas, "
                    "beds, ...)")
        self._chosen = chosen
        return (people_request(fill="seats,beds", genders=self.genders.strip() or None),
                tuple(people.escape_pattern(n) for n in chosen), [])

    def _nobody(self, result) -> str:
        return (f"The selected objects ({', '.join(self._chosen)[:200]}) offer no free seat or "
                f"bed place (the room offers {result.metrics.get('spots', 'nothing')}); give "
                "them a POSA Class such as chair, sofa or bed")


class POSA_OT_regenerate_people(PlacementOptions, ObjectModeOnly, bpy.types.Operator):
    """Place the selected people again with a new shape and pose variation, at the same
    interaction (on the same seat or bed object); everyone else stays where they are"""

    bl_idname = "posa.regenerate_people"
    bl_label = "Regenerate"
    bl_options = {"REGISTER", "UNDO"}
    object_mode_task = "regenerate people"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        started = time.perf_counter()
        chosen = selected_bodies(context)
        if not chosen:
            return self._refuse("Select the people to regenerate (bodies placed by Populate "
                                "Scene)")
        locked = [f.mesh.name for f in chosen if people.is_locked(f.mesh)]
        foreign = [f.mesh.name for f in chosen if not people.is_locked(f.mesh)
                   and not people.placement(f.mesh).get("interaction")]
        todo = [f for f in chosen if f.mesh.name not in locked and f.mesh.name not in foreign]
        for name in locked:
            self.report({"WARNING"}, f"'{name}' is locked: left as it is (unlock it first)")
        for name in foreign:
            self.report({"WARNING"}, f"'{name}' was not placed by Populate Scene: left as it "
                        "is (use Refine Placement)")
        if not todo:
            return self._refuse("Nothing to regenerate: " + "; ".join(
                [f"'{n}' is locked" for n in locked]
                + [f"'{n}' was not placed by Populate Scene" for n in foreign]))
        if missing := deps.missing_modules(POPULATE_MODULES):
            return self._refuse(deps.missing_message(missing))
        inputs = scene.scene_inputs(context, self.device, self.grid_resolution,
                                    POPULATE_MODULES, skip=tuple(f.mesh for f in todo))
        if isinstance(inputs, str):
            return self._refuse(inputs)
        from posa_model.errors import PosaError

        models = {}
        for found in todo:
            info = props.object_info(found.mesh)
            key = (info.model_path, info.gender)
            if key in models:
                continue
            try:
                models[key] = runtime.body_model(*key)
                inputs.loaded.sampler.check_body(models[key].faces,
                                                 info.model_path or "the stand-in",
                                                 num_vertices=models[key].num_vertices)
            except PosaError as exc:
                return self._refuse(f"Cannot regenerate '{found.mesh.name}': {exc}")
        try:
            redone = self._place(inputs, todo, models)
        except PosaError as exc:
            return self._refuse(f"Cannot regenerate: {exc}")
        if not redone:
            return self._refuse(f"None of the {len(todo)} people found another place; they "
                                "were left as they were (the warnings say why)")
        made = []
        for found, person, fields in redone:
            info = props.object_info(found.mesh)
            name, model_path, gender = found.mesh.name, info.model_path, info.gender
            people.remove_bodies([found])
            person.gender = gender  # the body's own gender, whatever the model file records
            made += make_people(context, {gender: models[(model_path, gender)]},
                                [(person, fields)], model_path=model_path, inputs=inputs,
                                names=[name])
            self.report({"INFO"}, f"{name}: {fields['spot'] or person.interaction} (variation "
                        f"{fields['generation']}), {people.summary_text(person.body.metrics)}")
        select(context, made)
        if inputs.loaded.fallback:
            self.report({"WARNING"}, inputs.loaded.fallback)
        self.report({"INFO"}, f"Regenerated {len(redone)} of {len(chosen)} selected people in "
                    f"{time.perf_counter() - started:.1f} s")
        return {"FINISHED"}

    def _place(self, inputs: scene.SceneInputs, todo: list[body.BodyObjects], models: dict
               ) -> list[tuple[body.BodyObjects, Any, dict]]:
        """Each person placed anew (one populate call each, the ones placed before them as
        obstacles); (the old body, the new person, its record) for those that found a place."""
        from posa_model.place import PlacementConfig
        from posa_model.populate import PeopleRequest, populate
        from posa_model.populate.interactions import INTERACTIONS

        obstacles = list(inputs.obstacles)
        out = []
        for found in todo:
            record = people.placement(found.mesh)
            info = props.object_info(found.mesh)
            interaction = str(record["interaction"])
            kind = INTERACTIONS[interaction].spot if interaction in INTERACTIONS else ""
            on: tuple[str, ...] = ()
            if kind in ("seat", "bed") and record.get("object"):
                on = (people.escape_pattern(str(record["object"])),)
            generation = int(record.get("generation", 0)) + 1
            seed = variation_seed(int(record.get("seed", 0)), str(record.get("person", "")),
                                  generation, self.seed)
            result = populate(inputs.grid, inputs.objects, PeopleRequest(counts={interaction: 1}),
                              models[(info.model_path, info.gender)], inputs.loaded.sampler,
                              PlacementConfig(seed=seed, device=inputs.loaded.device), on=on,
                              obstacles=obstacles, progress=True)
            person = result.people[0] if result.people else None
            if person is None or not person.placed or person.body is None:
                why = person.reason if person is not None else "no free spot"
                self.report({"WARNING"}, f"'{found.mesh.name}' found no other place and was "
                            f"left as it is: {why}")
                continue
            fields = person_fields(person, seed, generation)
            fields["person"] = str(record.get("person", person.name))
            out.append((found, person, fields))
            obstacles.append(np.asarray(person.body.vertices, dtype=np.float64))
        return out


def variation_seed(seed: int, person: str, generation: int, extra: int) -> int:
    """The seed of a person's ``generation``-th regeneration: another stream than the run's
    ``seed`` (a 31-bit int, as Blender's integer properties hold)."""
    import zlib

    words = [seed, zlib.crc32(person.encode()), generation, extra]
    return int(np.random.SeedSequence(words).generate_state(1)[0] % (2**31 - 1))


class POSA_OT_lock_people(bpy.types.Operator):
    """Lock the selected people (never moved, regenerated or replaced; others are placed
    around them), or unlock them"""

    bl_idname = "posa.lock_people"
    bl_label = "Lock People"
    bl_options = {"REGISTER", "UNDO"}

    lock: BoolProperty(name="Lock", default=True, description="Lock (on) or unlock (off)")

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        chosen = selected_bodies(context)
        if not chosen:
            self.report({"ERROR"}, "Select the people (bodies) to lock or unlock")
            return {"CANCELLED"}
        for found in chosen:
            props.object_info(found.mesh).locked = self.lock
        names = ", ".join(f.mesh.name for f in chosen)
        self.report({"INFO"}, f"{'Locked' if self.lock else 'Unlocked'} {len(chosen)}: {names}")
        return {"FINISHED"}


classes = (POSA_OT_populate_scene, POSA_OT_populate_selected, POSA_OT_regenerate_people,
           POSA_OT_lock_people)
