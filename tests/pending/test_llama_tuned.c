/* tests/pending/test_llama_tuned.c — parked: the tuned model against llama.cpp's recording.
 * With core/llama.c following llama.cpp's roundings, base and rl match it bit for bit and
 * tuned matches 110 of its 121 recorded steps: 'ROMEO:' diverges from step 13 on (worst
 * top-20 logprob 0.21 nats, entropy 0.007).  Probing pointed at one value rounded the
 * other way in layer 0's attention at position 18 (head 4: the Q8 rounding of its output,
 * 17.4999962, goes down here and up in llama.cpp); summing the weighted values in 16 lanes,
 * as llama.cpp's AVX-512 vector kernel would over a padded cache, fixes that case but
 * breaks rl at the same step and tuned's last case at step 21.  When it is found, move
 * this line into tests/unit/test_llama.c (it uses check_model there), delete this file:
 *
 *     TEST(llama_tuned_matches_llamacpp) { check_model("tuned"); }
 */
