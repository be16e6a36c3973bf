/** (filled in by the random family) */
export {}
