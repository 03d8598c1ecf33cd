//! Groups of labels under a common hypernym — which classes a figure should highlight together
//! (figure 6 of the paper colours the primates and the bovids among ImageNet's classes).

use std::collections::{BTreeMap, BTreeSet};

use crate::{SynsetId, WordNet, WordNetError};

/// The labels (by index) that lie under one synset in the hypernym hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HypernymGroup {
    pub synset: SynsetId,
    /// NLTK's name, e.g. `footwear.n.01`.
    pub name: String,
    /// Label indices under the synset (a label's own synset counts as under itself), ascending.
    pub members: Vec<usize>,
}

impl WordNet {
    /// Every synset at or above some label's synset, with the labels under it.
    fn groups_by_synset(&self, labels: &[SynsetId]) -> Result<BTreeMap<SynsetId, BTreeSet<usize>>, WordNetError> {
        let mut under: BTreeMap<SynsetId, BTreeSet<usize>> = BTreeMap::new();
        for (index, &label) in labels.iter().enumerate() {
            let mut stack = vec![label];
            let mut seen = BTreeSet::new();
            while let Some(node) = stack.pop() {
                if seen.insert(node) {
                    under.entry(node).or_default().insert(index);
                    stack.extend(self.all_hypernyms(node)?);
                }
            }
        }
        Ok(under)
    }

    /// The labels under `synset` (labels whose synset is `synset` or has it as an ancestor).
    pub fn group_under(&self, labels: &[SynsetId], synset: SynsetId) -> Result<HypernymGroup, WordNetError> {
        let under = self.groups_by_synset(labels)?;
        Ok(HypernymGroup {
            synset,
            name: self.name(synset)?,
            members: under.get(&synset).map(|m| m.iter().copied().collect()).unwrap_or_default(),
        })
    }

    /// Up to `count` disjoint groups of at least two labels, largest first, none holding more
    /// than two thirds of the labels (a group of nearly every label highlights nothing, and
    /// would leave no room for a second group). Among groups of the same labels the
    /// most specific synset (the deepest) names the group; among equally large groups the deeper
    /// one wins, then the smaller synset id, so the choice is deterministic.
    pub fn largest_hypernym_groups(
        &self,
        labels: &[SynsetId],
        count: usize,
    ) -> Result<Vec<HypernymGroup>, WordNetError> {
        let under = self.groups_by_synset(labels)?;
        let mut by_members: BTreeMap<Vec<usize>, (u32, SynsetId)> = BTreeMap::new();
        for (synset, members) in under {
            if members.len() < 2 || 3 * members.len() > 2 * labels.len() {
                continue;
            }
            let depth = self.max_depth(synset)?;
            let members: Vec<usize> = members.into_iter().collect();
            let entry = by_members.entry(members).or_insert((depth, synset));
            if depth > entry.0 || (depth == entry.0 && synset < entry.1) {
                *entry = (depth, synset);
            }
        }
        let mut candidates: Vec<(Vec<usize>, u32, SynsetId)> =
            by_members.into_iter().map(|(members, (depth, synset))| (members, depth, synset)).collect();
        candidates.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut chosen: Vec<HypernymGroup> = Vec::new();
        let mut taken = BTreeSet::new();
        for (members, _, synset) in candidates {
            if chosen.len() == count {
                break;
            }
            if members.iter().any(|m| taken.contains(m)) {
                continue;
            }
            taken.extend(members.iter().copied());
            chosen.push(HypernymGroup { synset, name: self.name(synset)?, members });
        }
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use xnas_datasets::DatasetName;

    use crate::{LabelSynsets, WordNet};

    /// Facts read off WordNet 3.0 by hand (`wn` command line): sandal, sneaker and boot are
    /// footwear.n.02 ("covering for a person's feet"); the five garments are clothing; the bag
    /// is a container.
    #[test]
    fn fashion_mnist_groups_are_clothing_and_footwear() {
        let wordnet = WordNet::open(None).expect("apt-get install wordnet-base");
        let labels = LabelSynsets::for_dataset(&wordnet, DatasetName::FashionMnist, None, &[]).unwrap();
        let names: Vec<&str> = labels.labels.iter().map(|l| l.label.as_str()).collect();
        let groups = wordnet.largest_hypernym_groups(&labels.ids(), 2).unwrap();
        assert_eq!(groups.len(), 2, "{groups:?}");
        let members = |g: &crate::HypernymGroup| g.members.iter().map(|&i| names[i]).collect::<Vec<_>>();
        for g in &groups {
            assert!(g.members.len() >= 2 && g.members.len() < 10, "{g:?}");
        }
        assert!(groups[0].members.len() >= groups[1].members.len());
        let all: Vec<Vec<&str>> = groups.iter().map(members).collect();
        assert!(
            all.iter().any(|m| m.contains(&"Sandal") && m.contains(&"Sneaker") && m.contains(&"Ankle boot")),
            "{all:?}"
        );
        assert!(all.iter().any(|m| m.contains(&"Dress") && m.contains(&"Coat")), "{all:?}");
        let footwear = wordnet.resolve("footwear.n.02").unwrap();
        let group = wordnet.group_under(&labels.ids(), footwear).unwrap();
        assert_eq!(group.members.iter().map(|&i| names[i]).collect::<Vec<_>>(), ["Sandal", "Sneaker", "Ankle boot"]);
    }
}
