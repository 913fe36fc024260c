//! The datasets a model can be trained on, defined once: their ids, class names and how an
//! image given by a user is made to look like one of theirs (the page names them from its
//! message catalogues, `dataset.<id>`). Every weights file records its
//! dataset, class names and preprocessing (files written before these were recorded are read as
//! MNIST's, or as their dataset's when they name one).

use serde::{Deserialize, Serialize};

/// How any image is turned into a 28×28 input of a dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preprocessing {
    /// MNIST's (LeCun et al.): the ink's bounding box scaled to fit 20×20, placed in the 28×28
    /// frame so that its centre of mass is the frame's centre.
    #[default]
    #[serde(rename = "centre-of-mass-20")]
    CentreOfMass20,
    /// Fashion-MNIST's (Xiao et al. 2017): the item's bounding box scaled so that its longer side
    /// fills the 28 pixels, centred in the frame.
    #[serde(rename = "fill-28")]
    Fill28,
}

/// A dataset the trainer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetInfo {
    /// Its id, as weights files and the page name it: `mnist`, `fashion-mnist`, `kmnist`.
    pub id: &'static str,
    /// The name of each class, by label.
    pub classes: [&'static str; 10],
    /// How its images were made.
    pub preprocessing: Preprocessing,
}

impl DatasetInfo {
    /// The class names as a weights file stores them.
    pub fn class_names(&self) -> Vec<String> {
        self.classes.iter().map(|c| (*c).to_owned()).collect()
    }
}

/// Handwritten digits.
pub const MNIST: DatasetInfo =
    DatasetInfo { id: "mnist", classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], preprocessing: Preprocessing::CentreOfMass20 };

/// Zalando's clothing images.
pub const FASHION_MNIST: DatasetInfo = DatasetInfo {
    id: "fashion-mnist",
    classes: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    preprocessing: Preprocessing::Fill28,
};

/// Kuzushiji: ten cursive hiragana, with their romaji (prepared the way MNIST was).
pub const KMNIST: DatasetInfo = DatasetInfo {
    id: "kmnist",
    classes: ["お (o)", "き (ki)", "す (su)", "つ (tsu)", "な (na)", "は (ha)", "ま (ma)", "や (ya)", "れ (re)", "を (wo)"],
    preprocessing: Preprocessing::CentreOfMass20,
};

/// Every dataset the trainer knows.
pub const DATASETS: [DatasetInfo; 3] = [MNIST, FASHION_MNIST, KMNIST];

/// The dataset with id `id`, if we know it.
pub fn by_id(id: &str) -> Option<&'static DatasetInfo> {
    DATASETS.iter().find(|d| d.id == id)
}

/// The dataset with id `id`, or MNIST for an id we do not know (files older than the record of
/// their dataset's classes and preprocessing were all MNIST).
pub fn by_id_or_mnist(id: &str) -> &'static DatasetInfo {
    by_id(id).unwrap_or(&MNIST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_is_found_by_its_id_and_names_ten_distinct_classes() {
        for d in DATASETS {
            assert_eq!(by_id(d.id), Some(&d));
            let distinct: std::collections::BTreeSet<_> = d.classes.iter().collect();
            assert_eq!(distinct.len(), 10, "{}", d.id);
        }
        assert_eq!(by_id("cifar"), None);
    }

    #[test]
    fn preprocessing_is_written_as_the_page_reads_it() {
        assert_eq!(serde_json::to_string(&Preprocessing::Fill28).expect("plain enum"), "\"fill-28\"");
        assert_eq!(serde_json::to_string(&Preprocessing::CentreOfMass20).expect("plain enum"), "\"centre-of-mass-20\"");
    }
}
