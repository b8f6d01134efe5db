import Mathlib
import Aesop

set_option maxHeartbeats 400000

open BigOperators Real Nat Topology Rat

/-! Competition-style warm-ups in the style of miniF2F (written for this demo).
`prover prove examples/demo.lean` searches for the proofs left as `sorry`. -/

/-- Solve a linear equation: 3x + 7 = 22 forces x = 5. -/
theorem demo_linear_equation (x : ℝ) (h₀ : 3 * x + 7 = 22) : x = 5 := by
  sorry

/-- Two equations in two unknowns. -/
theorem demo_linear_system (a b : ℝ) (h₀ : a + b = 10) (h₁ : a - b = 4) : a = 7 := by
  sorry

/-- Numeral arithmetic over ℕ. -/
theorem demo_numerals : (2 : ℕ) ^ 10 + 3 * 7 = 1045 := by
  sorry

/-- A remainder: 17 * 23 = 391 leaves remainder 1 on division by 5. -/
theorem demo_remainder : (17 * 23) % 5 = 1 := by
  sorry

/-- A remainder from a hypothesis about a remainder. -/
theorem demo_remainder_from_hypothesis (n : ℕ) (h₀ : n % 5 = 3) : 2 * n % 5 = 1 := by
  sorry

/-- Two goals at once: split the conjunction, then solve each. -/
theorem demo_conjunction (x : ℝ) (h₀ : 2 * x = 4) : x = 2 ∧ x + 1 = 3 := by
  sorry

/-- Two times a product is at most the sum of the squares. -/
theorem demo_two_squares (x y : ℝ) : 2 * x * y ≤ x ^ 2 + y ^ 2 := by
  sorry

/-- Already proved: left as it is. -/
theorem demo_already_proved (n : ℕ) (h₀ : n = 4) : n + 1 = 5 := by
  subst h₀
  norm_num

/-- No integer squares to 2: true, but beyond a fixed list of closing tactics. -/
theorem demo_no_integer_sqrt_two (x : ℤ) (h₀ : x ^ 2 = 2) : False := by
  sorry
