"""A small labelled set for recall: one household member's facts, and questions a person
would ask, each with the facts that answer it. Written for Butler's tests; many questions
share no word with their answer, which is what embeddings are for."""

FACTS = [
    "Is allergic to peanuts",  # 0
    "Has a golden retriever called Biscuit",  # 1
    "Wife is named Sarah",  # 2
    "Daughter Mia starts primary school in September",  # 3
    "Works as a nurse at St James's hospital",  # 4
    "Does night shifts on Tuesdays and Wednesdays",  # 5
    "Prefers tea with oat milk",  # 6
    "Drives a blue Skoda Octavia",  # 7
    "The car's MOT is due in March",  # 8
    "Mother lives in Bristol",  # 9
    "Calls mum every Sunday evening",  # 10
    "Supports Leeds United",  # 11
    "Is learning Spanish on Duolingo",  # 12
    "Plays five-a-side football on Thursday nights",  # 13
    "Is vegetarian",  # 14
    "The boiler was serviced in October",  # 15
    "The wifi password is on the fridge",  # 16
    "Bins go out on Monday night",  # 17
    "Son Leo is eight and loves dinosaurs",  # 18
    "Has type 2 diabetes and takes metformin",  # 19
    "The dentist is Dr Patel on Kirkgate",  # 20
    "Wedding anniversary is on 14 June",  # 21
    "Likes jazz, especially Miles Davis",  # 22
    "Is scared of spiders",  # 23
    "Brother Tom lives in Melbourne",  # 24
    "Keeps the spare house key with the neighbour at number 12",  # 25
    "Is training for the York half marathon",  # 26
    "Reads crime novels before bed",  # 27
    "The kitchen lights are Philips Hue",  # 28
    "Grows tomatoes in the greenhouse",  # 29
    "Works from home on Fridays",  # 30
    "Cannot stand coriander",  # 31
]

# (question, indices of the facts that answer it)
QUERIES = [
    ("What can't I eat because of an allergy?", {0}),
    ("What's my dog called?", {1}),
    ("Who is my spouse?", {2}),
    ("When does my little girl begin school?", {3}),
    ("What is my job?", {4}),
    ("Which evenings am I at the hospital overnight?", {5}),
    ("How do I take my tea?", {6}),
    ("When does the car need its test?", {8}),
    ("Where does my mother live?", {9}),
    ("Which football team do I follow?", {11}),
    ("What language am I studying?", {12}),
    ("Do I eat meat?", {14}),
    ("What medication am I on?", {19}),
    ("When is our anniversary?", {21}),
    ("What music do I enjoy?", {22}),
    ("Where is the spare key?", {25}),
    ("Which race am I preparing for?", {26}),
    ("What herb do I hate?", {31}),
]
