"""The procedural stand-in body, stored in the SMPL-X ``.npz`` format.

posa_model must run without the licensed SMPL-X model, so it ships a humanoid that plain
``smplx.create(path)`` / ``smplx.SMPLX(model_path=path)`` loads: 10475 vertices, 20946 faces, the
55 SMPL-X joints with SMPL-X's parents, y up, metres, facing +z, the body's left at +x, in the
SMPL-X rest pose (T-pose, palms down, feet slightly apart, soles at y = -1.30, pelvis at -0.35,
top of the head at +0.45: 1.75 m tall). It is *not* SMPL-X: the shapes, weights and regressor
below are designed by hand, not learnt.

Construction (:func:`~tools.standin.body.build_standin_body`; deterministic; about 12 s of
CPU, 15-40 s wall on two shared cores; needs scikit-image, a dev dependency):

1. **Design.** :data:`DESIGNED_JOINTS` places the 55 joints anatomically (hips, knees, ankles,
   toe bases, three spine joints, neck, head, jaw, eyeball centres, collars, shoulders, elbows,
   wrists and three joints per finger). Around them, :func:`primitives` lists 97 signed-distance
   primitives (round cones, ellipsoids, a rounded box) for torso, head (nose, ears, eyeballs in
   sockets, lips), arms, palms, five fingers, legs, heels, soles and toes; the left half is
   designed and mirrored. :func:`body_sdf` is their smooth union (quadratic smooth-min with a
   per-primitive radius: wide on the trunk, a few millimetres between fingers).
2. **Surface.** Marching cubes (scikit-image) on a 2.5 mm grid of the left half only (x >= 0,
   evaluated per voxel only in 2 cm blocks near the surface), one Newton step onto the zero set.
   The half's boundary lies exactly on x = 0.
3. **Exact vertex count.** The seam polyline on x = 0 is thinned (Douglas-Peucker, finer on the
   face profile) to an odd number of vertices; the interior is decimated by quadric edge collapses
   (``fast_simplification``) with the seam locked. Its collapse history is filtered to proper
   edge collapses (link condition) and replayed so that the mirrored whole, ``2 V - S`` vertices,
   has exactly 10475 (a replayed prefix of the history alone is not always a manifold).
   Delaunay flips and tangential smoothing, each re-projected onto the surface, even the
   triangles out. Mirroring and welding on the seam gives a symmetric, closed,
   consistently outward-oriented genus-0 manifold (:func:`check_closed_mesh`, fails loudly).
4. **Parts and weights.** Every vertex belongs to the bone (joint to next joint) of its nearest
   primitive's chain (the top of the thighs below the groin goes to the leg); LBS weights are 1
   on that part and blend only with parent/child parts (plus armpit, neck-collar and neck-jaw)
   within a geodesic band around their boundary, so bending a joint moves only its own body
   part and the vertices next to the joint.
5. **Vertex order.** Vertices are sorted by part and position, except the 21 vertex ids smplx
   hard-codes for extra joints (:data:`SMPLX_VERTEX_IDS`: nose tip, eyes, ears, finger tips, big
   and small toes, heels), which hold exactly that anatomy.
6. **Regressor, shapes, landmarks.** ``J_regressor`` rows are convex combinations of nearby
   surface vertices that reproduce the designed joints exactly; ``shapedirs`` hold 300 shape
   components (the first 20 designed, see :func:`_shape_space`, then 12 smooth bumps, the rest
   zero) and 100 zero expression components; the 51 face landmarks and the 79 x 17 jaw-contour
   table are ray-cast onto the face. ``posedirs`` are zero and the hand PCA is the identity.

The file also carries ``J`` (the designed joints) and ``part_labels`` (the part of each vertex),
which smplx ignores.

Build-time code, not part of the package or the add-on: ``python tools/make_standin.py body``
regenerates the shipped file (:data:`posa_model.assets.STANDIN_BODY_PATH`) and ``python
tools/make_standin.py hierarchy`` its mesh hierarchy (:mod:`tools.standin.hierarchy`); the
runtime loader never regenerates. Modules: :mod:`~tools.standin.design` (joints, primitives,
SDF), :mod:`~tools.standin.surface` (steps 2-3), :mod:`~tools.standin.rig` (steps 4-5, the
regressor), :mod:`~tools.standin.shapes` and :mod:`~tools.standin.face` (step 6),
:mod:`~tools.standin.body` (assembly).
"""
