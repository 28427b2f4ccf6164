"""Production planning: planned lots scheduled onto work centres, equipment and operators (CP-SAT)."""
