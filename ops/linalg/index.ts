/** (filled in by the linalg family) */
export {}
