"""Mathlib lemmas with their real statements (argument order and implicitness as in Mathlib).

Each lemma is written once in Lean syntax over a type variable `α`; it is elaborated for each
numeric type it holds in (`types`). Used as proof terms (`exact`, `apply`, hint lists of
linarith/nlinarith) and as rewrite rules (`rw`, `simp only`). Every statement here is a true
theorem of Mathlib for the listed types (with Lean's conventions such as `x / 0 = 0`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .elaborate import Context, Elaborator, elab_type
from .parser import parse_theorem
from .terms import Term, Type

ORDERED_FIELDS = ("ℚ", "ℝ")
ORDERED_RINGS = ("ℤ", "ℚ", "ℝ")
ORDERED_SEMIRINGS = ("ℕ", "ℤ", "ℚ", "ℝ")
NAT = ("ℕ",)
REAL = ("ℝ",)

# name -> (statement over α, types it holds in)
LEMMA_TEXT: dict[str, tuple[str, tuple[str, ...]]] = {
    # squares, products, positivity
    "sq_nonneg": ("(a : α) : 0 ≤ a ^ 2", ORDERED_RINGS),
    "pow_two_nonneg": ("(a : α) : 0 ≤ a ^ 2", ORDERED_RINGS),
    "mul_self_nonneg": ("(a : α) : 0 ≤ a * a", ORDERED_RINGS),
    "sq_abs": ("(a : α) : |a| ^ 2 = a ^ 2", ORDERED_RINGS),
    "abs_nonneg": ("(a : α) : 0 ≤ |a|", ORDERED_RINGS),
    "abs_mul_abs_self": ("(a : α) : |a| * |a| = a * a", ORDERED_RINGS),
    "abs_mul_self": ("(a : α) : |a * a| = a * a", ORDERED_RINGS),
    "le_abs_self": ("(a : α) : a ≤ |a|", ORDERED_RINGS),
    "neg_abs_le": ("(a : α) : -|a| ≤ a", ORDERED_RINGS),
    "abs_sub_comm": ("(a b : α) : |a - b| = |b - a|", ORDERED_RINGS),
    "abs_of_nonneg": ("{a : α} (h : 0 ≤ a) : |a| = a", ORDERED_RINGS),
    "abs_of_pos": ("{a : α} (h : 0 < a) : |a| = a", ORDERED_RINGS),
    "abs_of_neg": ("{a : α} (h : a < 0) : |a| = -a", ORDERED_RINGS),
    "abs_of_nonpos": ("{a : α} (h : a ≤ 0) : |a| = -a", ORDERED_RINGS),
    "abs_le": ("{a b : α} : |a| ≤ b ↔ -b ≤ a ∧ a ≤ b", ORDERED_RINGS),
    "abs_lt": ("{a b : α} : |a| < b ↔ -b < a ∧ a < b", ORDERED_RINGS),
    "abs_sub_lt_iff": ("{a b c : α} : |a - b| < c ↔ a - b < c ∧ b - a < c", ORDERED_RINGS),
    "abs_sub_le_iff": ("{a b c : α} : |a - b| ≤ c ↔ a - b ≤ c ∧ b - a ≤ c", ORDERED_RINGS),
    "mul_pos": ("{a b : α} (ha : 0 < a) (hb : 0 < b) : 0 < a * b", ORDERED_SEMIRINGS),
    "mul_nonneg": ("{a b : α} (ha : 0 ≤ a) (hb : 0 ≤ b) : 0 ≤ a * b", ORDERED_SEMIRINGS),
    "mul_pos_of_neg_of_neg": ("{a b : α} (ha : a < 0) (hb : b < 0) : 0 < a * b", ORDERED_RINGS),
    "mul_self_pos": ("{a : α} : 0 < a * a ↔ a ≠ 0", ORDERED_RINGS),
    "add_pos": ("{a b : α} (ha : 0 < a) (hb : 0 < b) : 0 < a + b", ORDERED_SEMIRINGS),
    "add_nonneg": ("{a b : α} (ha : 0 ≤ a) (hb : 0 ≤ b) : 0 ≤ a + b", ORDERED_SEMIRINGS),
    "pow_pos": ("{a : α} (H : 0 < a) (n : ℕ) : 0 < a ^ n", ORDERED_SEMIRINGS),
    "pow_nonneg": ("{a : α} (H : 0 ≤ a) (n : ℕ) : 0 ≤ a ^ n", ORDERED_SEMIRINGS),
    "sq_pos_of_pos": ("{a : α} (ha : 0 < a) : 0 < a ^ 2", ORDERED_SEMIRINGS),
    "div_pos": ("{a b : α} (ha : 0 < a) (hb : 0 < b) : 0 < a / b", ORDERED_FIELDS),
    "div_nonneg": ("{a b : α} (ha : 0 ≤ a) (hb : 0 ≤ b) : 0 ≤ a / b", ORDERED_FIELDS),
    "sub_nonneg": ("{a b : α} : 0 ≤ a - b ↔ b ≤ a", ORDERED_RINGS),
    "sub_pos": ("{a b : α} : 0 < a - b ↔ b < a", ORDERED_RINGS),
    "sub_eq_zero": ("{a b : α} : a - b = 0 ↔ a = b", ORDERED_RINGS),
    "sub_ne_zero": ("{a b : α} : a - b ≠ 0 ↔ a ≠ b", ORDERED_RINGS),
    "sub_ne_zero_of_ne": ("{a b : α} (h : a ≠ b) : a - b ≠ 0", ORDERED_RINGS),
    "mul_self_eq_zero": ("{a : α} : a * a = 0 ↔ a = 0", ORDERED_RINGS),
    "pow_eq_zero_iff_two": ("{a : α} : a ^ 2 = 0 ↔ a = 0", ORDERED_RINGS),
    "sq_eq_zero'": ("{a : α} : a ^ 2 = 0 ↔ a = 0", ORDERED_RINGS),
    # order
    "le_refl": ("(a : α) : a ≤ a", ORDERED_SEMIRINGS),
    "le_rfl": ("{a : α} : a ≤ a", ORDERED_SEMIRINGS),
    "le_of_lt": ("{a b : α} (h : a < b) : a ≤ b", ORDERED_SEMIRINGS),
    "le_of_eq": ("{a b : α} (h : a = b) : a ≤ b", ORDERED_SEMIRINGS),
    "ne_of_gt": ("{a b : α} (h : a > b) : a ≠ b", ORDERED_SEMIRINGS),
    "ne_of_lt": ("{a b : α} (h : a < b) : a ≠ b", ORDERED_SEMIRINGS),
    "le_antisymm": ("{a b : α} (h₁ : a ≤ b) (h₂ : b ≤ a) : a = b", ORDERED_SEMIRINGS),
    "lt_of_le_of_lt": ("{a b c : α} (h₁ : a ≤ b) (h₂ : b < c) : a < c", ORDERED_SEMIRINGS),
    "lt_of_lt_of_le": ("{a b c : α} (h₁ : a < b) (h₂ : b ≤ c) : a < c", ORDERED_SEMIRINGS),
    "le_trans": ("{a b c : α} (h₁ : a ≤ b) (h₂ : b ≤ c) : a ≤ c", ORDERED_SEMIRINGS),
    "lt_trans": ("{a b c : α} (h₁ : a < b) (h₂ : b < c) : a < c", ORDERED_SEMIRINGS),
    "not_lt": ("{a b : α} : ¬a < b ↔ b ≤ a", ORDERED_SEMIRINGS),
    "not_le": ("{a b : α} : ¬a ≤ b ↔ b < a", ORDERED_SEMIRINGS),
    "lt_irrefl": ("(a : α) : ¬a < a", ORDERED_SEMIRINGS),
    "eq_comm": ("{a b : α} : a = b ↔ b = a", ORDERED_SEMIRINGS),
    "ne_comm": ("{a b : α} : a ≠ b ↔ b ≠ a", ORDERED_SEMIRINGS),
    "ne_eq": ("(a b : α) : (a ≠ b) = ¬a = b", ()),  # handled by the simp core (a ≠ b is ¬a = b)
    # ring identities used as rewrite rules
    "mul_comm": ("(a b : α) : a * b = b * a", ORDERED_SEMIRINGS),
    "add_comm": ("(a b : α) : a + b = b + a", ORDERED_SEMIRINGS),
    "mul_assoc": ("(a b c : α) : a * b * c = a * (b * c)", ORDERED_SEMIRINGS),
    "add_assoc": ("(a b c : α) : a + b + c = a + (b + c)", ORDERED_SEMIRINGS),
    "mul_one": ("(a : α) : a * 1 = a", ORDERED_SEMIRINGS),
    "one_mul": ("(a : α) : 1 * a = a", ORDERED_SEMIRINGS),
    "mul_zero": ("(a : α) : a * 0 = 0", ORDERED_SEMIRINGS),
    "zero_mul": ("(a : α) : 0 * a = 0", ORDERED_SEMIRINGS),
    "add_zero": ("(a : α) : a + 0 = a", ORDERED_SEMIRINGS),
    "zero_add": ("(a : α) : 0 + a = a", ORDERED_SEMIRINGS),
    "sub_self": ("(a : α) : a - a = 0", ORDERED_SEMIRINGS),
    "sub_zero": ("(a : α) : a - 0 = a", ORDERED_SEMIRINGS),
    "pow_two": ("(a : α) : a ^ 2 = a * a", ORDERED_SEMIRINGS),
    "sq": ("(a : α) : a ^ 2 = a * a", ORDERED_SEMIRINGS),
    "pow_one": ("(a : α) : a ^ 1 = a", ORDERED_SEMIRINGS),
    "pow_zero": ("(a : α) : a ^ 0 = 1", ORDERED_SEMIRINGS),
    "one_pow": ("(n : ℕ) : (1 : α) ^ n = 1", ORDERED_SEMIRINGS),
    "mul_neg": ("(a b : α) : a * -b = -(a * b)", ORDERED_RINGS),
    "neg_mul": ("(a b : α) : -a * b = -(a * b)", ORDERED_RINGS),
    "neg_neg": ("(a : α) : - -a = a", ORDERED_RINGS),
    "sub_eq_add_neg": ("(a b : α) : a - b = a + -b", ORDERED_RINGS),
    "two_mul": ("(a : α) : 2 * a = a + a", ORDERED_SEMIRINGS),
    "mul_two": ("(a : α) : a * 2 = a + a", ORDERED_SEMIRINGS),
    "add_sub_cancel": ("(a b : α) : a + (b - a) = b", ORDERED_RINGS),
    "mul_sub": ("(a b c : α) : a * (b - c) = a * b - a * c", ORDERED_RINGS),
    "sub_mul": ("(a b c : α) : (a - b) * c = a * c - b * c", ORDERED_RINGS),
    "mul_add": ("(a b c : α) : a * (b + c) = a * b + a * c", ORDERED_SEMIRINGS),
    "add_mul": ("(a b c : α) : (a + b) * c = a * c + b * c", ORDERED_SEMIRINGS),
    "add_sq": ("(a b : α) : (a + b) ^ 2 = a ^ 2 + 2 * a * b + b ^ 2", ORDERED_SEMIRINGS),
    "sub_sq": ("(a b : α) : (a - b) ^ 2 = a ^ 2 - 2 * a * b + b ^ 2", ORDERED_RINGS),
    "one_div": ("(a : α) : 1 / a = 1 / a", ()),  # `a⁻¹` is outside the fragment; see simp core
    "div_self": ("{a : α} (h : a ≠ 0) : a / a = 1", ORDERED_FIELDS),
    "mul_div_cancel_left₀": ("(b : α) {a : α} (ha : a ≠ 0) : a * b / a = b", ORDERED_FIELDS),
    "div_add_div_same": ("(a b c : α) : a / c + b / c = (a + b) / c", ORDERED_FIELDS),
    "div_eq_iff": ("{a b c : α} (hc : c ≠ 0) : a / c = b ↔ a = b * c", ORDERED_FIELDS),
    "eq_div_iff": ("{a b c : α} (hc : c ≠ 0) : a = b / c ↔ a * c = b", ORDERED_FIELDS),
    "div_le_iff": ("{a b c : α} (hc : 0 < c) : a / c ≤ b ↔ a ≤ b * c", ORDERED_FIELDS),
    "le_div_iff": ("{a b c : α} (hc : 0 < c) : a ≤ b / c ↔ a * c ≤ b", ORDERED_FIELDS),
    "div_lt_iff": ("{a b c : α} (hc : 0 < c) : a / c < b ↔ a < b * c", ORDERED_FIELDS),
    "lt_div_iff": ("{a b c : α} (hc : 0 < c) : a < b / c ↔ a * c < b", ORDERED_FIELDS),
    "mul_lt_mul_left": ("{a b c : α} (hc : 0 < c) : c * a < c * b ↔ a < b", ORDERED_FIELDS),
    "mul_le_mul_left": ("{a b c : α} (hc : 0 < c) : c * a ≤ c * b ↔ a ≤ b", ORDERED_FIELDS),
    "abs_add": ("(a b : α) : |a + b| ≤ |a| + |b|", ORDERED_RINGS),
    "abs_sub_abs_le_abs_sub": ("(a b : α) : |a| - |b| ≤ |a - b|", ORDERED_RINGS),
    "abs_mul": ("(a b : α) : |a * b| = |a| * |b|", ORDERED_RINGS),
    "abs_div": ("(a b : α) : |a / b| = |a| / |b|", ORDERED_FIELDS),
    "abs_neg": ("(a : α) : |-a| = |a|", ORDERED_RINGS),
    "abs_pos": ("{a : α} : 0 < |a| ↔ a ≠ 0", ORDERED_RINGS),
    "abs_abs": ("(a : α) : | |a| | = |a|", ORDERED_RINGS),
    "neg_le_abs": ("(a : α) : -a ≤ |a|", ORDERED_RINGS),
    "abs_le_abs": ("{a b : α} (h₀ : a ≤ b) (h₁ : -b ≤ a) : |a| ≤ |b|", ORDERED_RINGS),
    "mul_self_abs": ("(a : α) : |a| * |a| = a * a", ORDERED_RINGS),
    "pow_le_pow_left": ("{a b : α} (ha : 0 ≤ a) (hab : a ≤ b) (n : ℕ) : a ^ n ≤ b ^ n", ORDERED_SEMIRINGS),
    "mul_le_mul": ("{a b c d : α} (h₁ : a ≤ b) (h₂ : c ≤ d) (hc : 0 ≤ c) (hb : 0 ≤ b) : a * c ≤ b * d", ORDERED_SEMIRINGS),
    "mul_lt_mul'": ("{a b c d : α} (h₁ : a ≤ b) (h₂ : c < d) (hc : 0 ≤ c) (hb : 0 < b) : a * c < b * d", ORDERED_SEMIRINGS),
    "add_pow_two": ("(a b : α) : (a + b) ^ 2 = a ^ 2 + 2 * a * b + b ^ 2", ORDERED_SEMIRINGS),
    "pow_succ": ("(a : α) (n : ℕ) : a ^ (n + 1) = a ^ n * a", ORDERED_SEMIRINGS),
    "div_add_div": ("(a : α) (c : α) {b d : α} (hb : b ≠ 0) (hd : d ≠ 0) : a / b + c / d = (a * d + b * c) / (b * d)", ORDERED_FIELDS),
    "div_div": ("(a b c : α) : a / b / c = a / (b * c)", ORDERED_FIELDS),
    "add_div": ("(a b c : α) : (a + b) / c = a / c + b / c", ORDERED_FIELDS),
    "sub_div": ("(a b c : α) : (a - b) / c = a / c - b / c", ORDERED_FIELDS),
    "mul_div_assoc": ("(a b c : α) : a * b / c = a * (b / c)", ORDERED_FIELDS),
    "div_mul_eq_mul_div": ("(a b c : α) : a / b * c = a * c / b", ORDERED_FIELDS),
    "mul_one_div": ("(a b : α) : a * (1 / b) = a / b", ORDERED_FIELDS),
    "div_le_div_of_nonneg_left": ("{a b c : α} (ha : 0 ≤ a) (hb : 0 < b) (hc : b ≤ c) : a / c ≤ a / b", ORDERED_FIELDS),
    "div_le_one": ("{a b : α} (hb : 0 < b) : a / b ≤ 1 ↔ a ≤ b", ORDERED_FIELDS),
    "one_le_div": ("{a b : α} (hb : 0 < b) : 1 ≤ a / b ↔ b ≤ a", ORDERED_FIELDS),
    "lt_of_pow_lt_pow_left": ("{a b : α} (n : ℕ) (hb : 0 ≤ b) (h : a ^ n < b ^ n) : a < b", ORDERED_SEMIRINGS),
    "sq_lt_sq'": ("{a b : α} (h1 : -b < a) (h2 : a < b) : a ^ 2 < b ^ 2", ORDERED_RINGS),
    "abs_lt_abs": ("{a b : α} (h₀ : a < b) (h₁ : -b < a) : |a| < |b|", ORDERED_RINGS),
    "Nat.mod_two_eq_zero_or_one": ("(n : ℕ) : n % 2 = 0 ∨ n % 2 = 1", NAT),
    "Int.emod_two_eq_zero_or_one": ("(n : ℤ) : n % 2 = 0 ∨ n % 2 = 1", ("ℤ",)),
    "Nat.succ_le_of_lt": ("{n m : ℕ} (h : n < m) : n + 1 ≤ m", NAT),
    "Nat.lt_of_succ_le": ("{n m : ℕ} (h : n + 1 ≤ m) : n < m", NAT),
    "Nat.sub_add_cancel": ("{n m : ℕ} (h : m ≤ n) : n - m + m = n", NAT),
    "Nat.add_sub_cancel": ("{n m : ℕ} : n + m - m = n", NAT),
    "Nat.dvd_sub'": ("{k m n : ℕ} (h₁ : k ∣ m) (h₂ : k ∣ n) : k ∣ m - n", NAT),
    "dvd_add": ("{a b c : α} (h₁ : a ∣ b) (h₂ : a ∣ c) : a ∣ b + c", ("ℕ", "ℤ")),
    "dvd_mul_right": ("(a b : α) : a ∣ a * b", ("ℕ", "ℤ")),
    "dvd_mul_left": ("(a b : α) : a ∣ b * a", ("ℕ", "ℤ")),
    "dvd_refl": ("(a : α) : a ∣ a", ("ℕ", "ℤ")),
    "Nat.dvd_of_mod_eq_zero": ("{m n : ℕ} (H : n % m = 0) : m ∣ n", NAT),
    "Nat.mod_eq_zero_of_dvd": ("{m n : ℕ} (H : m ∣ n) : n % m = 0", NAT),
    # square roots (Real.sqrt, `√x = 0` for x < 0)
    "Real.sqrt_lt_sqrt_iff": ("{x y : ℝ} (hx : 0 ≤ x) : √x < √y ↔ x < y", REAL),
    "Real.sqrt_le_sqrt_iff": ("{x y : ℝ} (hy : 0 ≤ y) : √x ≤ √y ↔ x ≤ y", REAL),
    "Real.sqrt_eq_zero'": ("{x : ℝ} : √x = 0 ↔ x ≤ 0", REAL),
    "Real.sqrt_zero": (": √0 = 0", REAL),
    "Real.sqrt_one": (": √1 = 1", REAL),
    "Real.sqrt_mul_self'": ("{x : ℝ} (h : 0 ≤ x) : √x * √x = x", REAL),
    "Real.sqrt_le_sqrt'": ("{x y : ℝ} (h : x ≤ y) : √x ≤ √y", REAL),
    "Real.sqrt_nonneg": ("(x : ℝ) : 0 ≤ √x", REAL),
    "Real.sq_sqrt": ("{x : ℝ} (h : 0 ≤ x) : √x ^ 2 = x", REAL),
    "Real.sqrt_sq": ("{x : ℝ} (h : 0 ≤ x) : √(x ^ 2) = x", REAL),
    "Real.mul_self_sqrt": ("{x : ℝ} (h : 0 ≤ x) : √x * √x = x", REAL),
    "Real.sqrt_mul_self": ("{x : ℝ} (h : 0 ≤ x) : √(x * x) = x", REAL),
    "Real.sqrt_pos": ("{x : ℝ} : 0 < √x ↔ 0 < x", REAL),
    "Real.sqrt_eq_iff_sq_eq": ("{x y : ℝ} (hx : 0 ≤ x) (hy : 0 ≤ y) : √x = y ↔ y ^ 2 = x", REAL),
    "Real.sqrt_lt_sqrt": ("{x y : ℝ} (hx : 0 ≤ x) (h : x < y) : √x < √y", REAL),
    "Real.sqrt_le_sqrt": ("{x y : ℝ} (h : x ≤ y) : √x ≤ √y", REAL),
    "add_eq_zero_iff_neg_eq": ("{a b : α} : a + b = 0 ↔ -a = b", ORDERED_RINGS),
    "add_eq_zero_iff_eq_neg": ("{a b : α} : a + b = 0 ↔ a = -b", ORDERED_RINGS),
    "neg_eq_iff_eq_neg": ("{a b : α} : -a = b ↔ a = -b", ORDERED_RINGS),
    # natural numbers
    "Nat.lt_one_iff": ("{n : ℕ} : n < 1 ↔ n = 0", NAT),
    "lt_one_iff": ("{n : ℕ} : n < 1 ↔ n = 0", NAT),
    "Nat.gcd_pos_of_pos_left": ("{m : ℕ} (n : ℕ) (h : 0 < m) : 0 < Nat.gcd m n", NAT),
    "Nat.gcd_pos_of_pos_right": ("(m : ℕ) {n : ℕ} (h : 0 < n) : 0 < Nat.gcd m n", NAT),
    "Nat.zero_le": ("(n : ℕ) : 0 ≤ n", NAT),
    "Nat.succ_le_iff": ("{m n : ℕ} : m + 1 ≤ n ↔ m < n", NAT),
    "Nat.lt_succ_iff": ("{m n : ℕ} : m < n + 1 ↔ m ≤ n", NAT),
    "Nat.le_of_lt_succ": ("{m n : ℕ} (h : m < n + 1) : m ≤ n", NAT),
    "Nat.pos_of_ne_zero": ("{n : ℕ} (h : n ≠ 0) : 0 < n", NAT),
    "Nat.zero_lt_succ": ("(n : ℕ) : 0 < n + 1", NAT),
    "Nat.succ_pos": ("(n : ℕ) : 0 < n + 1", NAT),
    "Nat.le_antisymm": ("{n m : ℕ} (h₁ : n ≤ m) (h₂ : m ≤ n) : n = m", NAT),
    "Nat.mul_mod": ("(a b n : ℕ) : a * b % n = a % n * (b % n) % n", NAT),
    "Nat.add_mod": ("(a b n : ℕ) : (a + b) % n = (a % n + b % n) % n", NAT),
    "Nat.pow_mod": ("(a b n : ℕ) : a ^ b % n = (a % n) ^ b % n", NAT),
    "Nat.mod_self": ("(n : ℕ) : n % n = 0", NAT),
    "Nat.add_mul_mod_self_left": ("(a b c : ℕ) : (a + b * c) % b = a % b", NAT),
    "Nat.add_mul_mod_self_right": ("(a b c : ℕ) : (a + b * c) % c = a % c", NAT),
    "Nat.mod_lt": ("(x : ℕ) {y : ℕ} (h : y > 0) : x % y < y", NAT),
    "Int.emod_emod_of_dvd": ("(n : ℤ) {m k : ℤ} (h : m ∣ k) : n % k % m = n % m", ("ℤ",)),
    "Int.add_mul_emod_self": ("{a b c : ℤ} : (a + b * c) % c = a % c", ("ℤ",)),
}


@dataclass(frozen=True)
class LemmaBinder:
    name: str
    kind: str  # "explicit" | "implicit" | "hyp"
    value: "Type | Term"  # the variable's type, or the hypothesis


@dataclass(frozen=True)
class Lemma:
    name: str
    ty: str  # the instance of α
    binders: tuple[LemmaBinder, ...]
    conclusion: Term


@lru_cache(maxsize=None)
def lemma_instances(name: str) -> tuple[Lemma, ...]:
    """The lemma elaborated at each type it holds in (empty if unknown)."""
    entry = LEMMA_TEXT.get(name)
    if entry is None and name.startswith("_root_."):
        entry = LEMMA_TEXT.get(name[len("_root_."):])
    if entry is None:
        return ()
    text, types = entry
    out = []
    for ty in types:
        syn = parse_theorem(f"theorem {name} {text.replace('α', ty)} := by")
        ctx = Context({})
        binders = []
        for b in syn.binders:
            for n in b.names:
                if b.type is not None and b.type.kind in ("type", "arrow"):
                    vt = elab_type(b.type)
                    ctx.types[n] = vt
                    binders.append(LemmaBinder(n, "implicit" if b.implicit else "explicit", vt))
                else:
                    binders.append(LemmaBinder(n, "hyp", Elaborator(ctx).prop(b.type)))
        concl = Elaborator(ctx).prop(syn.statement)
        out.append(Lemma(name, ty, tuple(binders), concl))
    return tuple(out)

